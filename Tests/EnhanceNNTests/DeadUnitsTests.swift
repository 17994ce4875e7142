import EnhanceNN
import Testing

/// A 1→4 3x3 → ReLU → 4→3 3x3 → ReLU → 3→1 transposed 3x3 network whose first layer has units 1
/// and 3 dead (bias −100 on inputs in [0, 1]) and whose second layer has unit 2 dead.
private func networkWithDeadUnits() -> Sequential {
    var net = Sequential(
        Conv2d(inChannels: 1, outChannels: 4, kernel: 3), ReLU(),
        Conv2d(inChannels: 4, outChannels: 3, kernel: 3), ReLU(),
        ConvTranspose2d(inChannels: 3, outChannels: 1, kernel: 3))
    net.initialize(seed: 7)
    var p = net.parameters
    p[1].storage = [0.1, -100, 0.1, -100]      // layer 0 biases
    p[3].storage = [0.2, 0.2, -100]            // layer 2 biases
    net.parameters = p
    return net
}

private func uniformInput(seed: UInt64) -> Tensor {
    var rng = SeededGenerator(seed: seed)
    return Tensor(shape: [2, 1, 12, 12], storage: (0..<288).map { _ in Float(rng.nextUniform()) })
}

@Suite struct DeadUnitsTests {
    @Test func activityFindsTheDeadUnits() {
        let net = networkWithDeadUnits()
        #expect(net.rectifiedConvolutions == [0, 2])
        let activity = net.unitActivity(uniformInput(seed: 1), context: .init(threads: 1))
        #expect(activity.map(\.layer) == [0, 2])
        #expect(activity[0].deadUnits == [1, 3])
        #expect(activity[1].deadUnits == [2])
        #expect(activity[0].activeFraction.count == 4 && activity[1].activeFraction.count == 3)
        for a in activity { #expect(a.activeFraction.allSatisfy { $0 >= 0 && $0 <= 1 }) }
        // A ReLU layer's output counted by hand for layer 0, unit 0.
        let first = net.layers[0].forward(uniformInput(seed: 1), context: .init(threads: 1))
        let plane = first.shape[2] * first.shape[3]
        var positive = 0
        for b in 0..<2 { for j in 0..<plane where first.storage[(b * 4 + 0) * plane + j] > 0 { positive += 1 } }
        #expect(activity[0].activeFraction[0] == Double(positive) / Double(2 * plane))
    }

    @Test func revivingKeepsTheOutputAndWakesTheUnits() {
        var net = networkWithDeadUnits()
        let context = ComputeContext(threads: 1)
        let probe = uniformInput(seed: 2)
        let before = net.forward(probe, context: context)
        let oldParameters = net.parameters
        var rng = SeededGenerator(seed: 3)
        let firstRevived = net.reviveUnits([3, 1], ofLayer: 0, rng: &rng, probe: probe, context: context)
        let secondRevived = net.reviveUnits([2], ofLayer: 2, rng: &rng, probe: probe, context: context)
        // Same output: the revived units feed zero weights.
        #expect(net.forward(probe, context: context).maxAbsDifference(before) == 0)
        // Every unit fires now, the revived ones on half of the probe's positions (the bias is
        // the median; ties at it do not fire).
        let after = net.unitActivity(probe, context: context)
        for a in after { #expect(a.deadUnits.isEmpty) }
        for f in [after[0].activeFraction[1], after[0].activeFraction[3], after[1].activeFraction[2]] {
            #expect(f > 0.45 && f <= 0.5, "active fraction \(f)")
        }
        // Exactly the reported elements changed, and they are what the function says.
        let p = net.parameters
        #expect(firstRevived.map(\.parameter) == [0, 1, 2] && secondRevived.map(\.parameter) == [2, 3, 4])
        #expect(firstRevived[0].elements == Array(9..<18) + Array(27..<36))           // units 1 and 3: 1x3x3 each
        #expect(firstRevived[1].elements == [1, 3])
        #expect(firstRevived[2].elements.count == 3 * 2 * 9)                       // 3 outputs x 2 inputs x 3x3
        #expect(secondRevived[2].elements == Array(18..<27))                       // transposed: [in, out, k, k]
        for (i, (old, new)) in zip(oldParameters, p).enumerated() {
            let changed = Set(new.storage.indices.filter { new.storage[$0] != old.storage[$0] })
            let reported = Set((firstRevived + secondRevived).filter { $0.parameter == i }.flatMap(\.elements))
            #expect(changed.isSubset(of: reported), "parameter \(i)")
        }
        #expect(p[1].storage[0] == 0.1 && p[1].storage[2] == 0.1 && p[3].storage[0] == 0.2 && p[3].storage[1] == 0.2)
        // Out of layer 0's revived units: zero, except into layer 2's unit 2, revived after them.
        let intoUnit2 = Set(secondRevived[0].elements)
        #expect(firstRevived[2].elements.filter(intoUnit2.contains).count == 2 * 9)
        for e in firstRevived[2].elements where !intoUnit2.contains(e) { #expect(p[2].storage[e] == 0) }
        for e in secondRevived[2].elements { #expect(p[4].storage[e] == 0) }
        // The new incoming weights come from the layer's He-normal initialiser, not zeros, and
        // each unit's sum to 0.
        #expect(firstRevived[0].elements.allSatisfy { p[0].storage[$0] != 0 })
        for block in [9..<18, 27..<36] { #expect(abs(p[0].storage[block].reduce(0, +)) < 1e-6) }
        #expect(abs(p[2].storage[72..<108].reduce(0, +)) < 1e-6)      // layer 2, unit 2: 4 x 3 x 3
    }

    @Test func adamForgetsTheRevivedElements() {
        var adam = Adam(learningRate: 0.01)
        var w = [Tensor(shape: [4], storage: [1, 2, 3, 4])]
        adam.update(parameters: &w, names: ["0.weight"], gradients: [Tensor(shape: [4], storage: [1, 2, 3, 4])])
        adam.update(parameters: &w, names: ["0.weight"], gradients: [Tensor(shape: [4], storage: [1, 2, 3, 4])])
        adam.resetState(of: "0.weight", elements: [1, 3])
        let state = adam.exportState().tensors
        let m = state["m.0.weight"]!.storage, v = state["v.0.weight"]!.storage
        #expect(m[1] == 0 && m[3] == 0 && m[0] != 0 && m[2] != 0)
        #expect(abs(Double(v[1]) - (Double(v[0]) + Double(v[2])) / 2) <= 1e-6 * Double(v[1]) && v[3] == v[1])
        var sgd = SGD(learningRate: 0.01, momentum: 0.9)
        sgd.update(parameters: &w, names: ["0.weight"], gradients: [Tensor(shape: [4], storage: [1, 2, 3, 4])])
        sgd.resetState(of: "0.weight", elements: [0])
        let momentum = sgd.exportState().tensors["momentum.0.weight"]!.storage
        #expect(momentum[0] == 0 && momentum[1] != 0)
    }
}
