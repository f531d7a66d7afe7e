// The idiomatic Swift layer over the generated bindings: a socket's events as a bounded
// AsyncSequence, `send` overloads for text and bytes, and an awaitable close.

import Foundation
@_exported import PartySocketFFI

extension PartySocket {
    /// Creates a socket and the sequence of its events, in order. Unless the options
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
    /// The sequence reads from the socket's bounded buffer (`eventCapacity`, 1024 by
    /// default): while the application does not read, events wait there, and once it is
    /// full the socket stops reading from the server, so memory stays bounded. It ends once
    /// the socket was closed and its last event read. Cancelling the task that iterates it
    /// ends that iteration at once and loses no event; the socket keeps running until
    /// `close()` or until it is released.
    ///
    /// `credentials`, when given, is asked for the query parameters and headers before every
    /// attempt (on one of the SDK's threads): the hook for tokens that expire; a 401 or
    /// 403 then asks it again instead of stopping (unless a failure policy says otherwise).
    ///
    /// - Throws: `PartySocketError.InvalidOptions` naming the option to change.
    public static func connect(
        _ options: PartySocketOptions, credentials: CredentialsProvider? = nil
    ) throws -> (PartySocket, PartySocketEvents) {
        let socket = try PartySocket(options: options, listener: nil, credentials: credentials)
        return (socket, PartySocketEvents(socket: socket))
    }

    /// Like `connect(_:credentials:)` with an `async` provider, awaited in a `Task` before
    /// every attempt and cancelled when its attempt is replaced, closed or times out
    /// (`connectionTimeoutMs`).
    ///
    /// - Throws: `PartySocketError.InvalidOptions` naming the option to change.
    public static func connect(
        _ options: PartySocketOptions, asyncCredentials: AsyncCredentialsProvider
    ) throws -> (PartySocket, PartySocketEvents) {
        let socket = try PartySocket.withAsyncCredentials(
            options: options, credentials: asyncCredentials, listener: nil)
        return (socket, PartySocketEvents(socket: socket))
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

/// A socket's events as an `AsyncSequence`, read with `next_event()`: bounded by the
/// socket's `eventCapacity`, ended when the socket closes, and ended at once (losing no
/// event) when the iterating task is cancelled.
public struct PartySocketEvents: AsyncSequence, Sendable {
    public typealias Element = Event

    let socket: PartySocket

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(socket: socket)
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let socket: PartySocket
        var ended = false

        public mutating func next() async -> Event? {
            while !ended {
                if Task.isCancelled {
                    ended = true
                    break
                }
                let socket = self.socket
                do {
                    // UniFFI's async calls cannot be cancelled: cancelling the task
                    // interrupts the wait instead, which takes no event.
                    let event = try await withTaskCancellationHandler {
                        try await socket.nextEvent()
                    } onCancel: {
                        socket.interruptNextEvent()
                    }
                    if let event { return event }
                    ended = true
                } catch PartySocketError.Interrupted {
                    // Cancelled (checked above), or an interrupt meant for a wait that
                    // had already ended: read on.
                    continue
                } catch {
                    ended = true
                }
            }
            return nil
        }
    }
}
