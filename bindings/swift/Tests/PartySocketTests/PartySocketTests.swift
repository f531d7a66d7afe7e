// The Swift scenarios against a running party-mock (its address in PARTY_MOCK_HOST):
// the same as the Kotlin and Python suites. `cargo xtask test bindings` runs them on
// Linux (Swift 6 in a Debian trixie root); see ../../README.md.

import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import XCTest
@testable import PartySocket

/// The mock's HTTP control surface (`/_mock/...`).
struct Mock {
    let host: String

    func request(_ method: String, _ path: String) async throws -> Data {
        var request = URLRequest(url: URL(string: "http://\(host)\(path)")!)
        request.httpMethod = method
        request.timeoutInterval = 5
        return try await withCheckedThrowingContinuation { continuation in
            URLSession.shared.dataTask(with: request) { data, response, error in
                if let error { continuation.resume(throwing: error); return }
                let status = (response as? HTTPURLResponse)?.statusCode ?? 0
                guard status == 200, let data else {
                    continuation.resume(throwing: URLError(.badServerResponse))
                    return
                }
                continuation.resume(returning: data)
            }.resume()
        }
    }

    @discardableResult
    func post(_ path: String) async throws -> Data { try await request("POST", path) }

    /// The `token` query value of every WebSocket attempt to the room, in order.
    func tokens(party: String, room: String) async throws -> [String] {
        let data = try await request("GET", "/_mock/log?party=\(party)&room=\(room)")
        let log = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        let attempts = log?["attempts"] as? [[String: Any]] ?? []
        return attempts.compactMap { attempt in
            guard attempt["kind"] as? String == "websocket",
                  let url = attempt["url"] as? String,
                  let items = URLComponents(string: url)?.queryItems
            else { return nil }
            return items.first { $0.name == "token" }?.value
        }
    }

    /// The `Authorization` headers of the room's WebSocket attempts, one list per attempt.
    func authorizations(party: String, room: String) async throws -> [[String]] {
        let data = try await request("GET", "/_mock/log?party=\(party)&room=\(room)")
        let log = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        let attempts = log?["attempts"] as? [[String: Any]] ?? []
        return attempts.compactMap { attempt in
            guard attempt["kind"] as? String == "websocket",
                  let headers = attempt["headers"] as? [[String]]
            else { return nil }
            return headers.filter { $0.count == 2 && $0[0].lowercased() == "authorization" }.map { $0[1] }
        }
    }

    /// The text messages the room received, in order.
    func received(party: String, room: String) async throws -> [String] {
        let data = try await request("GET", "/_mock/log?party=\(party)&room=\(room)")
        let log = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        let rooms = log?["received"] as? [[String: Any]] ?? []
        return rooms.flatMap { room in
            (room["messages"] as? [[String: Any]] ?? []).compactMap { entry in
                (entry["message"] as? [String: Any])?["data"] as? String
            }
        }
    }
}

struct Ended: Error { let what: String }

/// The first event matching `predicate`. The event sequence ends when a task iterating it
/// is cancelled, so there is no timeout race here: each test's time is bounded by
/// `executionTimeAllowance` on Apple platforms, and by the runner's limit on the whole
/// run elsewhere.
func next(
    _ events: inout PartySocketEvents.AsyncIterator, _ what: String, _ predicate: (Event) -> Bool
) async throws -> Event {
    while let event = await events.next() {
        if predicate(event) { return event }
    }
    throw Ended(what: "the events ended before \(what)")
}

func nextText(_ events: inout PartySocketEvents.AsyncIterator, _ text: String) async throws {
    _ = try await next(&events, "message \(text)") {
        if case .message(let message) = $0 { return message.asText == text }
        return false
    }
}

final class PartySocketTests: XCTestCase {
    var mock: Mock!
    static var rooms = 0

    override func setUp() async throws {
        guard let host = ProcessInfo.processInfo.environment["PARTY_MOCK_HOST"] else {
            XCTFail("set PARTY_MOCK_HOST to a running party-mock's host:port")
            throw Ended(what: "PARTY_MOCK_HOST")
        }
        #if !os(Linux)
        // Apple's XCTest only.
        executionTimeAllowance = 60
        #endif
        mock = Mock(host: host)
        try await mock.post("/_mock/reset")
    }

    func room(_ name: String) -> String {
        Self.rooms += 1
        return "swift-\(name)-\(UInt64(Date().timeIntervalSince1970 * 1000))-\(Self.rooms)"
    }

    func echo(_ room: String, id: String? = nil) -> PartySocketOptions {
        PartySocketOptions(host: mock.host, room: room, party: "echo", id: id)
    }

    func testConnect() async throws {
        let room = room("connect")
        let (socket, stream) = try PartySocket.connect(echo(room, id: "swift-client"))
        var events = stream.makeAsyncIterator()
        let open = try await next(&events, "open") { if case .open = $0 { return true }; return false }
        guard case .open(let url, _) = open else { return XCTFail("not an open event") }
        XCTAssertTrue(url.hasPrefix("ws://\(mock.host)/parties/echo/\(room)?_pk=swift-client"), url)
        XCTAssertEqual(socket.readyState(), .open)
        XCTAssertEqual(socket.id(), "swift-client")
        XCTAssertEqual(socket.roomUrl(), "ws://\(mock.host)/parties/echo/\(room)")
        try await socket.close(code: 1000, reason: "")
    }

    func testInvalidOptionsSayWhatToChange() throws {
        var options = echo(room("invalid"))
        options.path = "/inbox"
        XCTAssertThrowsError(try PartySocket.connect(options)) { error in
            guard case PartySocketError.InvalidOptions(let message) = error else {
                return XCTFail("unexpected \(error)")
            }
            XCTAssertTrue(message.contains("must not start with '/'"), message)
        }
    }

    func testEcho() async throws {
        let (socket, stream) = try PartySocket.connect(echo(room("echo")))
        var events = stream.makeAsyncIterator()
        try await socket.opened()
        XCTAssertEqual(try socket.send("hello"), .sent)
        try await nextText(&events, "hello")
        try await socket.close(code: 1000, reason: "")
    }

    func testBinary() async throws {
        let (socket, stream) = try PartySocket.connect(echo(room("binary")))
        var events = stream.makeAsyncIterator()
        try await socket.opened()
        let bytes = Data([0, 1, 2, 255, 127])
        XCTAssertEqual(try socket.send(bytes), .sent)
        let event = try await next(&events, "a binary message") {
            if case .message(.binary) = $0 { return true }
            return false
        }
        guard case .message(.binary(let data)) = event else { return XCTFail("not binary") }
        XCTAssertEqual(data, bytes)
        try await socket.close(code: 1000, reason: "")
    }

    func testBroadcastBetweenTwoSockets() async throws {
        let room = room("broadcast")
        let (alice, _) = try PartySocket.connect(PartySocketOptions(host: mock.host, room: room))
        let (bob, bobStream) = try PartySocket.connect(PartySocketOptions(host: mock.host, room: room))
        var bobEvents = bobStream.makeAsyncIterator()
        try await alice.opened()
        try await bob.opened()
        try await nextText(&bobEvents, "Welcome to the party!")
        try alice.send("hi from alice")
        try await nextText(&bobEvents, "hi from alice")
        try await alice.close(code: 1000, reason: "")
        try await bob.close(code: 1000, reason: "")
    }

    func testServerRestartDeliversTheQueueOnce() async throws {
        let room = room("restart")
        var options = echo(room)
        options.minReconnectionDelayMs = 100
        options.maxReconnectionDelayMs = 200
        let (socket, stream) = try PartySocket.connect(options)
        var events = stream.makeAsyncIterator()
        try await socket.opened()
        try await mock.post("/_mock/restart?down_ms=1000")
        let close = try await next(&events, "the dropped connection's close") {
            if case .close = $0 { return true }
            return false
        }
        guard case .close(let frame, _) = close else { return XCTFail("not a close") }
        XCTAssertEqual(frame.code, 1006)
        for index in 1...3 {
            XCTAssertEqual(try socket.send("queued-\(index)"), .queued)
        }
        _ = try await next(&events, "the reconnection") { if case .open = $0 { return true }; return false }
        for index in 1...3 {
            try await nextText(&events, "queued-\(index)")
        }
        let received = try await mock.received(party: "echo", room: room)
        for index in 1...3 {
            XCTAssertEqual(received.filter { $0 == "queued-\(index)" }.count, 1, "\(received)")
        }
        try await socket.close(code: 1000, reason: "")
    }

    func testUnauthorizedStopsTheSocketWithItsError() async throws {
        try await mock.post("/_mock/refuse?count=1&status=401")
        let (socket, stream) = try PartySocket.connect(echo(room("unauthorized")))
        var events = stream.makeAsyncIterator()
        let error = try await next(&events, "the handshake error") { if case .error = $0 { return true }; return false }
        guard case .error(let failure, let description) = error else { return XCTFail("not an error") }
        XCTAssertEqual(failure, .handshakeRejected(status: 401, retryAfterMs: nil))
        XCTAssertTrue(description.contains("401"), description)
        let stopped = try await next(&events, "the stop") {
            if case .stateChanged(.closed) = $0 { return true }
            return false
        }
        guard case .stateChanged(.closed(let reason)) = stopped,
              case .gaveUp(_, let cause) = reason
        else { return XCTFail("not given up: \(stopped)") }
        XCTAssertEqual(cause, .handshakeRejected(status: 401, retryAfterMs: nil))
        XCTAssertEqual(socket.readyState(), .closed)
        do {
            try await socket.opened()
            XCTFail("opened() returned on a stopped socket")
        } catch PartySocketError.Stopped {
        }
        try await socket.close(code: 1000, reason: "")
    }

    func testCloseEndsTheTask() async throws {
        let (socket, stream) = try PartySocket.connect(echo(room("close")))
        var events = stream.makeAsyncIterator()
        try await socket.opened()
        let reason = try await socket.close(code: 4000, reason: "bye")
        XCTAssertEqual(reason, .closedByApp)
        var closes: [CloseFrame] = []
        while let event = await events.next() {
            if case .close(let frame, let wasClean) = event {
                XCTAssertTrue(wasClean)
                closes.append(frame)
            }
        }
        // The loop ended: the socket's task stopped and released the stream's listener.
        XCTAssertEqual(closes, [CloseFrame(code: 4000, reason: "bye")])
        XCTAssertEqual(socket.readyState(), .closed)
        XCTAssertThrowsError(try socket.send("too late"))
        XCTAssertThrowsError(try socket.reconnect())
    }

    func testListenerAndAThrowingCallback() async throws {
        final class Recorder: PartySocketListener, @unchecked Sendable {
            private let lock = NSLock()
            private var lines: [String] = []
            private var threw = false
            struct Boom: Error {}

            func locked<T>(_ body: () -> T) -> T {
                lock.lock()
                defer { lock.unlock() }
                return body()
            }
            func record(_ line: String) { locked { lines.append(line) } }
            func seen(_ line: String) -> Bool { locked { lines.contains(line) } }

            func onOpen(url: String, `protocol`: String?) throws { record("open") }
            func onMessage(message: Message) throws {
                let shouldThrow = locked { () -> Bool in
                    if message.asText == "boom" && !threw { threw = true; return true }
                    return false
                }
                if shouldThrow { throw Boom() }
                if let text = message.asText, !text.hasPrefix("{") { record("message \(text)") }
            }
            func onClose(frame: CloseFrame, wasClean: Bool) throws { record("close \(frame.code)") }
            func onError(error: SocketFailure, description: String) throws {
                if case .listenerFailed(let callback, _) = error { record("failed \(callback)") }
            }
            func onStateChange(state: ConnectionState) throws {
                if case .closed = state { record("closed") }
            }
        }
        let recorder = Recorder()
        func expect(_ line: String) async throws {
            for _ in 0..<500 where !recorder.seen(line) {
                try await Task.sleep(nanoseconds: 20_000_000)
            }
            XCTAssertTrue(recorder.seen(line), "no \(line) within 10 s")
        }
        let socket = try PartySocket(options: echo(room("listener")), listener: recorder)
        try await expect("open")
        try socket.send("hello")
        try await expect("message hello")
        try socket.send("boom")
        try await expect("failed on_message")
        try socket.send("after")
        try await expect("message after")
        do {
            _ = try await socket.nextEvent()
            XCTFail("next_event() worked on a socket with a listener")
        } catch PartySocketError.EventsGoToListener {
        }
        try await socket.close(code: 1000, reason: "")
        try await expect("close 1000")
        try await expect("closed")
    }

    func testCancellingTheConsumingTaskEndsOnlyTheStream() async throws {
        let (socket, events) = try PartySocket.connect(echo(room("cancel")))
        try await socket.opened()
        let consumer = Task { for await _ in events {} }
        try await Task.sleep(nanoseconds: 300_000_000)
        consumer.cancel()
        _ = await consumer.value
        // The socket keeps working without a reader.
        XCTAssertEqual(try socket.send("after cancel"), .sent)
        XCTAssertEqual(socket.readyState(), .open)
        try await socket.close(code: 1000, reason: "")
    }

    func testATokenPerAttemptAndA401RecoveredFrom() async throws {
        final class Tokens: CredentialsProvider, @unchecked Sendable {
            private let lock = NSLock()
            private var issued = 0
            func credentials() throws -> Credentials {
                lock.lock()
                defer { lock.unlock() }
                issued += 1
                return Credentials(
                    query: ["token": "token-\(issued)"],
                    headers: ["Authorization": "Bearer header-\(issued)"]
                )
            }
        }
        let room = room("credentials")
        var options = echo(room)
        options.query = ["client": "swift", "token": "static"]
        options.headers = ["authorization": "Bearer static"]
        options.minReconnectionDelayMs = 100
        options.maxReconnectionDelayMs = 200
        let (socket, stream) = try PartySocket.connect(options, credentials: Tokens())
        var events = stream.makeAsyncIterator()
        let open = try await next(&events, "open") { if case .open = $0 { return true }; return false }
        guard case .open(let url, _) = open else { return XCTFail("not an open event") }
        XCTAssertTrue(url.contains("token=token-1") && url.contains("client=swift"), url)
        // The next handshake is refused with 401: the socket asks for a new token and
        // connects again on its own.
        try await mock.post("/_mock/refuse?count=1&status=401")
        try socket.reconnect()
        let refused = try await next(&events, "the 401") { if case .error = $0 { return true }; return false }
        guard case .error(let failure, _) = refused else { return XCTFail("not an error") }
        XCTAssertEqual(failure, .handshakeRejected(status: 401, retryAfterMs: nil))
        let reopened = try await next(&events, "the reconnection") { if case .open = $0 { return true }; return false }
        guard case .open(let reopenedUrl, _) = reopened else { return XCTFail("not an open event") }
        XCTAssertTrue(reopenedUrl.contains("token=token-3"), reopenedUrl)
        // The mock logs an attempt as it answers it: wait for the third.
        var tokens: [String] = []
        for _ in 0..<50 {
            tokens = try await mock.tokens(party: "echo", room: room)
            if tokens.count >= 3 { break }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        XCTAssertEqual(tokens, ["token-1", "token-2", "token-3"])
        // The provider's header replaced the static one on every attempt.
        let authorizations = try await mock.authorizations(party: "echo", room: room)
        XCTAssertEqual(authorizations, [["Bearer header-1"], ["Bearer header-2"], ["Bearer header-3"]])
        try await socket.close(code: 1000, reason: "")
    }

    func testAnAsyncCredentialsProviderIsAwaitedPerAttempt() async throws {
        final class SlowTokens: AsyncCredentialsProvider, @unchecked Sendable {
            private let lock = NSLock()
            private var issued = 0
            var calls: Int { lock.lock(); defer { lock.unlock() }; return issued }
            private func next() -> Int {
                lock.lock()
                defer { lock.unlock() }
                issued += 1
                return issued
            }
            func credentials() async throws -> Credentials {
                let call = next()
                try await Task.sleep(nanoseconds: 50_000_000)
                if call == 1 { throw ProviderError.Failed(reason: "token service down") }
                return Credentials(query: [:], headers: ["Authorization": "Bearer header-\(call)"])
            }
        }
        let room = room("credentials-async")
        var options = echo(room)
        options.minReconnectionDelayMs = 100
        options.maxReconnectionDelayMs = 200
        let tokens = SlowTokens()
        let (socket, stream) = try PartySocket.connect(options, asyncCredentials: tokens)
        var events = stream.makeAsyncIterator()
        let failed = try await next(&events, "the failed attempt") { if case .error = $0 { return true }; return false }
        guard case .error(_, let description) = failed else { return XCTFail("not an error") }
        XCTAssertTrue(description.contains("token service down"), description)
        _ = try await next(&events, "open") { if case .open = $0 { return true }; return false }
        try socket.reconnect()
        _ = try await next(&events, "the reconnection") { if case .open = $0 { return true }; return false }
        var authorizations: [[String]] = []
        for _ in 0..<50 {
            authorizations = try await mock.authorizations(party: "echo", room: room)
            if authorizations.count >= 2 { break }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        XCTAssertEqual(authorizations, [["Bearer header-2"], ["Bearer header-3"]])
        XCTAssertEqual(tokens.calls, 3)
        try await socket.close(code: 1000, reason: "")
    }

    func testALoggerSeesRecordsAtItsLevelRedactedAndOneThatThrowsIsHarmless() async throws {
        final class Collecting: PartySocketLogger, @unchecked Sendable {
            struct Broke: Error {}
            private let lock = NSLock()
            private var kept: [(LogRecord, String)] = []
            let failing: Bool
            init(failing: Bool = false) { self.failing = failing }
            func log(record: LogRecord) throws {
                lock.lock()
                kept.append((record, Thread.current.name ?? ""))
                lock.unlock()
                if failing { throw Broke() }
            }
            var records: [(LogRecord, String)] { lock.lock(); defer { lock.unlock() }; return kept }
            func waitFor(_ what: String, _ wanted: (LogRecord) -> Bool) async throws -> LogRecord {
                for _ in 0..<100 {
                    if let found = records.first(where: { wanted($0.0) }) { return found.0 }
                    try await Task.sleep(nanoseconds: 50_000_000)
                }
                XCTFail("no record \(what): \(records)")
                throw Broke()
            }
        }
        let rank: [LogLevel] = [.trace, .debug, .info, .warn, .error]
        // Info: the open is logged, the attempt (Debug) is not; the token is redacted.
        let info = Collecting()
        try installLogger(logger: info, level: .info)
        let infoRoom = room("logger-info")
        var options = echo(infoRoom)
        options.query = ["token": "s3cret"]
        let (socket, _) = try PartySocket.connect(options)
        try await socket.opened()
        let opened = try await info.waitFor("about the open") { $0.message.contains(infoRoom) }
        XCTAssertEqual(opened.level, .info)
        XCTAssertTrue(opened.target.hasPrefix("partysocket"), opened.target)
        XCTAssertTrue(opened.message.contains("token=REDACTED"), opened.message)
        for (record, thread) in info.records {
            XCTAssertGreaterThanOrEqual(rank.firstIndex(of: record.level)!, rank.firstIndex(of: .info)!, record.message)
            XCTAssertFalse(record.message.contains("s3cret"), record.message)
            XCTAssertFalse(thread == "main", thread)
        }
        try await socket.close(code: 1000, reason: "")
        // Debug, with a logger that throws on every record.
        let failing = Collecting(failing: true)
        try installLogger(logger: failing, level: .debug)
        let debugRoom = room("logger-debug")
        let (second, stream) = try PartySocket.connect(echo(debugRoom))
        var events = stream.makeAsyncIterator()
        _ = try await next(&events, "open") { if case .open = $0 { return true }; return false }
        let connecting = try await failing.waitFor("about the attempt") {
            $0.level == .debug && $0.message.hasPrefix("connecting") && $0.message.contains(debugRoom)
        }
        XCTAssertTrue(connecting.target.hasPrefix("partysocket"), connecting.target)
        XCTAssertEqual(try second.send("still"), .sent)
        _ = try await next(&events, "the echo") {
            if case .message(let message) = $0, message.asText == "still" { return true }
            return false
        }
        removeLogger()
        try await second.close(code: 1000, reason: "")
    }

    func testADevelopmentCAGivenAsPEMIsTrusted() async throws {
        let environment = ProcessInfo.processInfo.environment
        guard let tlsHost = environment["PARTY_MOCK_TLS_HOST"], let caPath = environment["PARTY_MOCK_CA_PEM"] else {
            return XCTFail("set PARTY_MOCK_TLS_HOST and PARTY_MOCK_CA_PEM")
        }
        let pem = try String(contentsOfFile: caPath, encoding: .utf8)
        var untrusted = PartySocketOptions(host: tlsHost, room: room("tls"), party: "echo")
        untrusted.protocol = .wss
        untrusted.maxRetries = 0
        let (refused, _) = try PartySocket.connect(untrusted)
        do {
            try await refused.opened()
            XCTFail("a server whose CA is unknown was trusted")
        } catch PartySocketError.Stopped {
        }
        var trusted = PartySocketOptions(host: tlsHost, room: room("tls"), party: "echo")
        trusted.protocol = .wss
        trusted.rootCertificatesPem = [pem]
        let (socket, stream) = try PartySocket.connect(trusted)
        var events = stream.makeAsyncIterator()
        try await socket.opened()
        XCTAssertTrue(socket.url()?.hasPrefix("wss://") ?? false)
        try socket.send("over tls")
        try await nextText(&events, "over tls")
        try await socket.close(code: 1000, reason: "")
    }

    func testApplicationPingsAreAnsweredAndTheAnswersNotDelivered() async throws {
        let room = room("heartbeat")
        var options = echo(room)
        options.heartbeat = Heartbeat(
            intervalMs: 100, timeoutMs: 400, ping: .text(text: "hb"), pong: .text(text: "hb"))
        let (socket, stream) = try PartySocket.connect(options)
        try await socket.opened()
        let watcher = Task { () -> String? in
            for await event in stream {
                switch event {
                case .message(let message) where message.asText == "hb": return "a pong was delivered"
                case .close, .error: return "\(event)"
                default: continue
                }
            }
            return nil
        }
        try await Task.sleep(nanoseconds: 1_000_000_000)
        try await socket.close(code: 1000, reason: "")
        // After the quiet second, only the close may end the watcher.
        let trouble = await watcher.value
        XCTAssertTrue(trouble == nil || trouble!.hasPrefix("close"), trouble ?? "")
        let pings = try await mock.received(party: "echo", room: room).filter { $0 == "hb" }.count
        XCTAssertGreaterThanOrEqual(pings, 3, "the server received \(pings) pings in a second")
    }

    func testPauseKeepsTheIdAndTheQueueAndResumeDeliversItOnce() async throws {
        let room = room("pause")
        let (socket, stream) = try PartySocket.connect(echo(room))
        var events = stream.makeAsyncIterator()
        try await socket.opened()
        let id = socket.id()
        try socket.pause()
        let close = try await next(&events, "the close") { if case .close = $0 { return true }; return false }
        guard case .close(let frame, _) = close else { return XCTFail("not a close") }
        XCTAssertEqual(frame.code, 1000)
        XCTAssertEqual(try socket.send("while paused"), .queued)
        try socket.resume()
        let reopened = try await next(&events, "the reopen") { if case .open = $0 { return true }; return false }
        guard case .open(let url, _) = reopened else { return XCTFail("not an open event") }
        XCTAssertTrue(url.contains("_pk=\(id)"), url)
        try await nextText(&events, "while paused")
        let received = try await mock.received(party: "echo", room: room)
        XCTAssertEqual(received.filter { $0 == "while paused" }.count, 1, "\(received)")
        try await socket.close(code: 1000, reason: "")
    }

    func testASlowReaderWithASmallEventCapacityLosesNothing() async throws {
        var options = echo(room("capacity"))
        options.eventCapacity = 2
        let (socket, stream) = try PartySocket.connect(options)
        var events = stream.makeAsyncIterator()
        try await socket.opened()
        for index in 1...50 { try socket.send("slow-\(index)") }
        // Nobody reads for a while: the socket holds two events and stops reading.
        try await Task.sleep(nanoseconds: 500_000_000)
        for index in 1...50 { try await nextText(&events, "slow-\(index)") }
        try await socket.close(code: 1000, reason: "")
    }
}
