import EnhanceCLI
import EnhanceNN

// Reuse freed large buffers instead of mapping fresh pages for every tensor (page faults
// otherwise cost more than the arithmetic of a 1x1 convolution).
_ = ComputeContext.reuseLargeAllocations()
EnhanceCommand.main()
