// The swift-lambda template's logic ("Hello! You said: BODY") as an http-mode process function: a
// small HTTP/1.1 keep-alive server on 127.0.0.1:$PORT, a thread per connection, POSIX sockets
// only (as the Lambda runtime client it is compared with). Built by bench/run.sh.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

let port = UInt16(ProcessInfo.processInfo.environment["PORT"] ?? "8080") ?? 8080
let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
var yes: Int32 = 1
setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
var address = sockaddr_in()
address.sin_family = sa_family_t(AF_INET)
address.sin_port = port.bigEndian
address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
_ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
listen(listener, 128)

func serve(_ fd: Int32) {
    var buffer: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    var one: Int32 = 1
    setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    while true {
        var end: Int?
        while end == nil {
            if buffer.count >= 4 {
                for index in 0...(buffer.count - 4) where buffer[index] == 13 && buffer[index + 1] == 10 && buffer[index + 2] == 13 && buffer[index + 3] == 10 {
                    end = index
                    break
                }
            }
            if end == nil {
                let n = recv(fd, &chunk, chunk.count, 0)
                if n <= 0 { close(fd); return }
                buffer += chunk[0..<n]
            }
        }
        let head = String(decoding: buffer[0..<end!], as: UTF8.self).lowercased()
        var length = 0
        for line in head.split(separator: "\r\n") where line.hasPrefix("content-length:") {
            length = Int(line.dropFirst(15).trimmingCharacters(in: .whitespaces)) ?? 0
        }
        buffer.removeFirst(end! + 4)
        while buffer.count < length {
            let n = recv(fd, &chunk, chunk.count, 0)
            if n <= 0 { close(fd); return }
            buffer += chunk[0..<n]
        }
        let body = String(decoding: buffer[0..<length], as: UTF8.self)
        buffer.removeFirst(length)
        let answer = Array("Hello! You said: \(body)".utf8)
        let response = Array("HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: \(answer.count)\r\n\r\n".utf8) + answer
        var sent = 0
        while sent < response.count {
            let n = response.withUnsafeBytes { send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { close(fd); return }
            sent += n
        }
    }
}

while true {
    let client = accept(listener, nil, nil)
    if client < 0 { continue }
    Thread.detachNewThread { serve(client) }
}
