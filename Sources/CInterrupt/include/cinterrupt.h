#ifndef CINTERRUPT_H
#define CINTERRUPT_H

/// Ctrl-C and `kill` for long commands (training, batches): the first SIGINT or SIGTERM only
/// records the request, so the command can finish its current step, save what it has and exit;
/// a second one ends the process at once (status 128 + signal).
void interrupt_install(void);

/// The signal number of the first request (SIGINT, SIGTERM), or 0 while there is none.
int interrupt_requested(void);

#endif
