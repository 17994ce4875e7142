import Foundation

/// A minimal SVG line chart for training curves (no dependencies; opens in any browser).
public enum CurvePlot {
    public static func svg(title: String, xLabel: String, yLabel: String, points: [(Double, Double)],
                           baseline: (String, Double)? = nil, width: Int = 720, height: Int = 440) -> String {
        let left = 70.0, right = 40.0, top = 40.0, bottom = 50.0
        let pw = Double(width) - left - right, ph = Double(height) - top - bottom
        var ys = points.map(\.1)
        if let b = baseline { ys.append(b.1) }
        let xMax = max(points.map(\.0).max() ?? 1, 1)
        var yMin = ys.min() ?? 0, yMax = ys.max() ?? 1
        // As the papers' convergence figures: start 1 dB below the baseline, so the untrained
        // first points do not flatten the curve (they are drawn at the bottom edge).
        if let b = baseline { yMin = max(yMin, b.1 - 1) }
        if yMax - yMin < 0.1 { yMin -= 0.05; yMax += 0.05 }
        let pad = (yMax - yMin) * 0.05
        yMin -= pad; yMax += pad
        func px(_ x: Double) -> Double { left + x / xMax * pw }
        func py(_ y: Double) -> Double { top + (1 - (max(y, yMin) - yMin) / (yMax - yMin)) * ph }
        var s = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(Double(width) / 2)" y="22" text-anchor="middle" font-size="15">\(escape(title))</text>
        <rect x="\(left)" y="\(top)" width="\(pw)" height="\(ph)" fill="none" stroke="#444"/>

        """
        for i in 0...5 {
            let y = yMin + (yMax - yMin) * Double(i) / 5
            s += "<line x1=\"\(left)\" x2=\"\(left + pw)\" y1=\"\(py(y))\" y2=\"\(py(y))\" stroke=\"#ddd\"/>"
            s += "<text x=\"\(left - 6)\" y=\"\(py(y) + 4)\" text-anchor=\"end\">\(String(format: "%.2f", y))</text>\n"
            let x = xMax * Double(i) / 5
            s += "<text x=\"\(px(x))\" y=\"\(top + ph + 18)\" text-anchor=\"middle\">\(String(format: "%.3g", x))</text>\n"
        }
        s += "<text x=\"\(left + pw / 2)\" y=\"\(Double(height) - 10)\" text-anchor=\"middle\">\(escape(xLabel))</text>\n"
        s += "<text transform=\"translate(16,\(top + ph / 2)) rotate(-90)\" text-anchor=\"middle\">\(escape(yLabel))</text>\n"
        if let (name, value) = baseline {
            s += "<line x1=\"\(left)\" x2=\"\(left + pw)\" y1=\"\(py(value))\" y2=\"\(py(value))\" stroke=\"#c33\" stroke-dasharray=\"6,4\"/>"
            s += "<text x=\"\(left + pw - 4)\" y=\"\(py(value) - 4)\" text-anchor=\"end\" fill=\"#c33\">\(escape(name)) \(String(format: "%.2f", value))</text>\n"
        }
        if !points.isEmpty {
            let path = points.map { String(format: "%.1f,%.1f", px($0.0), py($0.1)) }.joined(separator: " ")
            s += "<polyline fill=\"none\" stroke=\"#1f5fbf\" stroke-width=\"2\" points=\"\(path)\"/>\n"
        }
        s += "</svg>\n"
        return s
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }
}
