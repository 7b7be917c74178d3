// classify: the seed's image-recognition function in Embedded Swift, compiled to Wasm.
// Input: the seed's JSON {"body": "<base64 JPEG or PNG>"} or the raw image bytes.
// Output: the three most likely ImageNet labels with percentages (`?top=N` for 1 to 10), one per
// line, or JSON when the caller sends `Accept: application/json`. The model (EfficientNet-Lite0)
// is declared in stack.yml as com.stratus.model.efficientnet and loaded with WASI-NN; the host
// decodes, centre-crops and normalises the image (`imageTensor`), so the guest only parses the
// request and ranks the scores.

/// EfficientNet-Lite0's own evaluation transform (scripts/check_model.py documents it): the central
/// 87.5 % (224 / 256) of the image's centred square, resized to 224x224 with bilinear filtering,
/// RGB channels first, (pixel - 127) / 128.
let inputSpec = ImageTensorSpec(
    width: 224, height: 224, resize: .centerCrop, crop: 0.875, layout: .nchw, order: .rgb,
    mean: (127, 127, 127), std: (128, 128, 128))

/// How many labels to answer: `top=N` in the query (1...10), else 3.
func wantedCount(_ query: String) -> Int {
    for part in query.split(separator: "&") {
        let bytes = Array(part.utf8)
        guard bytes.count > 4, bytes[0] == UInt8(ascii: "t"), bytes[1] == UInt8(ascii: "o"), bytes[2] == UInt8(ascii: "p"),
            bytes[3] == UInt8(ascii: "=") else { continue }
        var value = 0
        for byte in bytes[4...] {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), value < 100 else { return 3 }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value >= 1 && value <= 10 ? value : 3
    }
    return 3
}

func handle(_ request: Request) -> Response {
    let image: [UInt8]
    switch imageBytes(request.body) {
    case .image(let bytes): image = bytes
    case .rejected(let message): return reject(message)
    }
    let pixels: [Float]
    do {
        pixels = try imageTensor(image, spec: inputSpec)
    } catch .notAnImage {
        return reject("the body is not a JPEG or PNG image (or it is corrupt)")
    } catch .tooLarge {
        return reject("the image is too large (at most 40 megapixels)")
    } catch {
        return fail("the image could not be read")
    }
    let scores: [Float]
    do {
        let graph = try Graph.load(named: request.env("MODEL") ?? "efficientnet")
        let context = try graph.makeContext()
        try context.setInput(0, dimensions: [1, 3, 224, 224], floats: pixels)
        try context.compute()
        scores = try context.floatOutput(0, count: 1000)
    } catch {
        return fail("inference failed: WASI-NN " + error.name + " (see the function's log)")
    }
    guard scores.count == 1000 else { return fail("the model answered \(scores.count) scores, not 1000") }

    let best = topK(scores, wantedCount(request.query))
    if let accept = request.header("Accept"), contains(accept, "application/json") {
        var json = "["
        for (rank, entry) in best.enumerated() {
            json += (rank == 0 ? "" : ", ") + "{\"label\": \"" + label(entry.index) + "\", \"index\": "
                + "\(entry.index), \"probability\": " + formatDecimal(entry.score, places: 4) + "}"
        }
        return Response(body: json + "]\n")
    }
    var text = ""
    for entry in best {
        text += label(entry.index) + ": " + formatDecimal(entry.score * 100, places: 2) + "%\n"
    }
    return Response(body: text)
}

/// The request was wrong: HTTP 400 with `message` as the answer.
func reject(_ message: String) -> Response {
    log("classify: " + message)
    return Response(status: .badRequest, body: message + "\n")
}

/// Something failed on this side: HTTP 500, the reason in the function's log.
func fail(_ message: String) -> Response {
    log("classify: " + message)
    return Response(status: .failure, body: "")
}

enum ImageInput {
    case image([UInt8])
    case rejected(String)
}

/// The image bytes: the "body" of a JSON object (base64), else the body as it is.
func imageBytes(_ body: [UInt8]) -> ImageInput {
    let isSpace = { (byte: UInt8) in byte == 32 || byte == 9 || byte == 10 || byte == 13 }
    guard let first = body.firstIndex(where: { !isSpace($0) }) else {
        return .rejected("send an image: {\"body\": \"<base64 JPEG or PNG>\"} or the image bytes")
    }
    guard body[first] == UInt8(ascii: "{") else { return .image(body) }
    let key = Array("\"body\"".utf8)
    guard var index = find(key, in: body, from: first) else {
        return .rejected("the JSON has no \"body\" field: send {\"body\": \"<base64 image>\"} or the image bytes")
    }
    index += key.count
    while index < body.count && (isSpace(body[index]) || body[index] == UInt8(ascii: ":")) { index += 1 }
    guard index < body.count, body[index] == UInt8(ascii: "\"") else {
        return .rejected("\"body\" must be a string holding the base64 image")
    }
    index += 1
    guard let close = body[index...].firstIndex(of: UInt8(ascii: "\"")) else {
        return .rejected("the \"body\" string is not terminated")
    }
    guard let decoded = base64Decode(body[index..<close]), !decoded.isEmpty else {
        return .rejected("\"body\" is not valid base64")
    }
    return .image(decoded)
}

func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
    guard haystack.count >= needle.count else { return nil }
    var index = start
    while index + needle.count <= haystack.count {
        if haystack[index..<index + needle.count].elementsEqual(needle) { return index }
        index += 1
    }
    return nil
}

func contains(_ text: String, _ part: String) -> Bool {
    find(Array(part.utf8), in: Array(text.utf8), from: 0) != nil
}

/// The name of ImageNet class `index` (labels.swift).
func label(_ index: Int) -> String {
    guard imagenetLabels.indices.contains(index) else { return "class \(index)" }
    return imagenetLabels[index].withUTF8Buffer { String(decoding: $0, as: UTF8.self) }
}
