// The idiomatic Swift layer over the generated bindings: a socket's events as an
// AsyncStream, `send` overloads for text and bytes, and an awaitable close.

import Foundation
@_exported import PartySocketFFI

extension PartySocket {
    /// Creates a socket and the stream of its events, in order. Unless the options
    /// start closed, it connects at once.
    ///
    /// ```swift
    /// let (socket, events) = try PartySocket.connect(
    ///     PartySocketOptions(host: "localhost:1999", room: "lobby", party: "chat"))
    /// _ = try socket.send("hello")
    /// for await event in events {
    ///     if case .message(let message) = event { print(message) }
    /// }
    /// ```
    ///
    /// The stream ends once the socket was closed and its last event delivered. It
    /// holds the events the application has not read yet (the listener it is fed by
    /// cannot wait). Cancelling the task that iterates it ends the stream; the socket
    /// keeps running until `close()` or until it is released.
    ///
    /// `credentials`, when given, is asked for the query parameters before every
    /// attempt (on one of the SDK's threads): the hook for tokens that expire; a 401 or
    /// 403 then asks it again instead of stopping (unless a failure policy says otherwise).
    ///
    /// - Throws: `PartySocketError.InvalidOptions` naming the option to change.
    public static func connect(
        _ options: PartySocketOptions, credentials: CredentialsProvider? = nil
    ) throws -> (PartySocket, AsyncStream<Event>) {
        let (stream, continuation) = AsyncStream<Event>.makeStream(bufferingPolicy: .unbounded)
        let socket = try PartySocket(
            options: options, listener: StreamListener(continuation), credentials: credentials)
        return (socket, stream)
    }

    /// Sends text now when open, else queues it; the outcome says which.
    @discardableResult
    public func send(_ text: String) throws -> SendOutcome {
        try sendText(text: text)
    }

    /// Sends bytes now when open, else queues them.
    @discardableResult
    public func send(_ data: Data) throws -> SendOutcome {
        try sendBinary(data: data)
    }

    /// Closes gracefully with `code` and `reason`, and waits until the close completed.
    /// The socket's task then ends and its event stream finishes.
    @discardableResult
    public func close(code: UInt16, reason: String) async throws -> StopReason {
        try closeWith(code: code, reason: reason)
        return await closed()
    }
}

extension Message {
    /// The text of a text message, else nil (Rust's `as_text()`).
    public var asText: String? {
        if case .text(let text) = self { return text }
        return nil
    }
}

/// Feeds an AsyncStream from the socket's listener callbacks. It holds the stream's
/// continuation, never the socket, and finishes the stream when the socket releases it.
final class StreamListener: PartySocketListener {
    private let continuation: AsyncStream<Event>.Continuation

    init(_ continuation: AsyncStream<Event>.Continuation) {
        self.continuation = continuation
    }

    deinit {
        continuation.finish()
    }

    func onOpen(url: String, `protocol`: String?) throws {
        continuation.yield(.open(url: url, protocol: `protocol`))
    }

    func onMessage(message: Message) throws {
        continuation.yield(.message(message: message))
    }

    func onClose(frame: CloseFrame, wasClean: Bool) throws {
        continuation.yield(.close(frame: frame, wasClean: wasClean))
    }

    func onError(error: SocketFailure, description: String) throws {
        continuation.yield(.error(error: error, description: description))
    }

    func onStateChange(state: ConnectionState) throws {
        continuation.yield(.stateChanged(state: state))
    }
}
