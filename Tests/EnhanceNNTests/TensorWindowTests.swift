import Testing
import EnhanceNN

@Suite("Tensor windows (the trainer's output crop)")
struct TensorWindowTests {
    /// A 2x3x7x6 tensor whose values encode their own index.
    static let x = Tensor(shape: [2, 3, 7, 6], storage: (0..<(2 * 3 * 7 * 6)).map { Float($0) })

    @Test func windowPicksTheOffsetSquare() {
        let w = Self.x.window(offset: 2, size: 3)
        #expect(w.shape == [2, 3, 3, 3])
        // Plane 4 (n 1, c 1), row 1, column 2 of the window = row 3, column 4 of the plane.
        #expect(w.storage[(4 * 3 + 1) * 3 + 2] == Float((4 * 7 + 3) * 6 + 4))
    }

    @Test func placedIsTheAdjointOfWindow() {
        let g = Tensor(shape: [2, 3, 3, 3], storage: (0..<54).map { Float($0 % 7) - 3 })
        let lhs = zip(Self.x.window(offset: 2, size: 3).storage, g.storage).reduce(0) { $0 + Double($1.0 * $1.1) }
        let placed = g.placed(in: Self.x.shape, offset: 2)
        let rhs = zip(Self.x.storage, placed.storage).reduce(0) { $0 + Double($1.0 * $1.1) }
        #expect(lhs == rhs)
        #expect(placed.storage.filter { $0 != 0 }.count == g.storage.filter { $0 != 0 }.count)
        #expect(placed.window(offset: 2, size: 3).storage == g.storage)
    }
}
