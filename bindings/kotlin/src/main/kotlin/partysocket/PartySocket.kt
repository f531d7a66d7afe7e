// The idiomatic Kotlin face of the generated bindings (package partysocket.ffi): a
// builder for options, events as a Flow, suspending send and close.
package partysocket

import kotlin.time.Duration
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.flow
import partysocket.ffi.ConnectionState
import partysocket.ffi.DropPolicy
import partysocket.ffi.Event
import partysocket.ffi.FailurePolicy
import partysocket.ffi.Heartbeat
import partysocket.ffi.Message
import partysocket.ffi.OptionsUpdate
import partysocket.ffi.PartySocketListener
import partysocket.ffi.PartySocketOptions
import partysocket.ffi.Protocol
import partysocket.ffi.ReadyState
import partysocket.ffi.SendOutcome
import partysocket.ffi.StopReason
import partysocket.ffi.PartySocket as FfiSocket

private fun Duration.millis(): ULong = inWholeMilliseconds.coerceAtLeast(0).toULong()

/**
 * Builds [PartySocketOptions] with the core's defaults; only the host is required (and a
 * room, unless a base path is set or the socket starts closed).
 *
 * ```kotlin
 * val options = PartySocketOptionsBuilder("localhost:1999")
 *     .party("chat").room("lobby")
 *     .query("name", "ada")
 *     .minReconnectionDelay(500.milliseconds)
 *     .build()
 * ```
 */
class PartySocketOptionsBuilder(host: String) {
    private val options = PartySocketOptions(host = host)

    fun room(room: String) = apply { options.room = room }
    fun party(party: String) = apply { options.party = party }
    fun prefix(prefix: String) = apply { options.prefix = prefix }
    fun basePath(basePath: String) = apply { options.basePath = basePath }
    fun path(path: String) = apply { options.path = path }
    fun protocol(protocol: Protocol) = apply { options.protocol = protocol }
    fun protocols(vararg protocols: String) = apply { options.protocols = protocols.toList() }
    /** Adds a query parameter; parameters are sent in key order. */
    fun query(key: String, value: String) = apply { options.query = options.query + (key to value) }
    fun id(id: String) = apply { options.id = id }
    /** Adds a handshake header such as `Authorization`. */
    fun header(name: String, value: String) = apply { options.headers = options.headers + (name to value) }
    fun startClosed(startClosed: Boolean = true) = apply { options.startClosed = startClosed }
    fun minReconnectionDelay(delay: Duration) = apply { options.minReconnectionDelayMs = delay.millis() }
    fun maxReconnectionDelay(delay: Duration) = apply { options.maxReconnectionDelayMs = delay.millis() }
    fun reconnectionDelayGrowFactor(factor: Double) = apply { options.reconnectionDelayGrowFactor = factor }
    fun jitter(fraction: Double) = apply { options.jitter = fraction }
    fun minUptime(uptime: Duration) = apply { options.minUptimeMs = uptime.millis() }
    fun connectionTimeout(timeout: Duration) = apply { options.connectionTimeoutMs = timeout.millis() }
    fun closeTimeout(timeout: Duration) = apply { options.closeTimeoutMs = timeout.millis() }
    fun writeTimeout(timeout: Duration) = apply { options.writeTimeoutMs = timeout.millis() }
    fun maxRetries(retries: Int) = apply { options.maxRetries = retries.toUInt() }
    fun maxEnqueuedMessages(max: Long) = apply { options.maxEnqueuedMessages = max.toULong() }
    fun maxEnqueuedBytes(max: Long) = apply { options.maxEnqueuedBytes = max.toULong() }
    fun dropPolicy(policy: DropPolicy) = apply { options.dropPolicy = policy }
    fun heartbeat(interval: Duration, timeout: Duration) =
        apply { options.heartbeat = Heartbeat(interval.millis(), timeout.millis()) }
    fun eventCapacity(events: Int) = apply { options.eventCapacity = events.toUInt() }
    fun maxMessageSize(bytes: Long) = apply { options.maxMessageSize = bytes.toULong() }
    fun failurePolicy(policy: FailurePolicy) = apply { options.failurePolicy = policy }

    /** A copy of the options; invalid values are reported when the socket is created. */
    fun build(): PartySocketOptions = options.copy()
}

/**
 * A reconnecting PartyKit socket.
 *
 * Events arrive through [events] (a cold [Flow]: collect it from one coroutine at a time;
 * cancelling a collector loses no event) or, when created with a [PartySocketListener],
 * through its callbacks on the SDK's thread.
 *
 * ```kotlin
 * val socket = PartySocket.connect(PartySocketOptionsBuilder(host).party("echo").room("lobby").build())
 * socket.send("hello")
 * socket.events.collect { event -> if (event is Event.Message) println(event.message) }
 * ```
 */
class PartySocket private constructor(private val ffi: FfiSocket) {
    companion object {
        /**
         * Creates the socket and, unless it starts closed, connects.
         *
         * @throws partysocket.ffi.PartySocketException.InvalidOptions naming the option to change.
         */
        fun connect(options: PartySocketOptions, listener: PartySocketListener? = null): PartySocket =
            PartySocket(FfiSocket(options, listener))
    }

    /** Every event in order; ends after [close] once the last event was read. */
    val events: Flow<Event> = flow {
        while (true) {
            val event = ffi.nextEvent() ?: break
            emit(event)
        }
    }

    /** Sends text now when open, else queues it; the outcome says which. */
    suspend fun send(text: String): SendOutcome = ffi.sendText(text)

    /** Sends bytes now when open, else queues them. */
    suspend fun send(data: ByteArray): SendOutcome = ffi.sendBinary(data)

    /** Sends a message; while disconnected only the latest queued per [key] survives. */
    suspend fun sendCoalesced(key: String, message: Message): SendOutcome = ffi.sendCoalesced(key, message)

    /**
     * Closes gracefully with [code] and [reason] and waits until the close completed; the
     * socket's task then ends and [events] completes. A closed socket cannot reconnect.
     */
    suspend fun close(code: Int = 1000, reason: String = ""): StopReason {
        ffi.closeWith(code.toUShort(), reason)
        return ffi.closed()
    }

    /** Waits until the connection is open; throws `PartySocketException.Stopped` if it stops instead. */
    suspend fun awaitOpen() = ffi.opened()

    /** Connects now (cuts a backoff wait short, revives a stopped socket). */
    fun reconnect() = ffi.reconnect()

    /** Changes destination or credentials for the next connection. */
    fun update(update: OptionsUpdate) = ffi.update(update)

    /** Removes and returns the queued messages, oldest first. */
    fun drainQueue(): List<Message> = ffi.drainQueue()

    val id: String get() = ffi.id()
    val roomUrl: String get() = ffi.roomUrl()
    val url: String? get() = ffi.url()
    val protocol: String? get() = ffi.protocol()
    val readyState: ReadyState get() = ffi.readyState()
    val connectionState: ConnectionState get() = ffi.connectionState()
    val retryCount: Int get() = ffi.retryCount().toInt()
    val bufferedAmount: Long get() = ffi.bufferedAmount().toLong()
}

/** A [PartySocketListener] whose callbacks do nothing: override the ones you need. */
open class PartySocketCallbacks : PartySocketListener {
    override fun onOpen(url: String, protocol: String?) {}
    override fun onMessage(message: Message) {}
    override fun onClose(frame: partysocket.ffi.CloseFrame, wasClean: Boolean) {}
    override fun onError(error: partysocket.ffi.SocketFailure, description: String) {}
    override fun onStateChange(state: ConnectionState) {}
}

/** The text of a text message, else null (Rust's `as_text()`). */
fun Message.asText(): String? = (this as? Message.Text)?.text

/** The bytes of a binary message, or the UTF-8 bytes of a text message (Rust's `as_bytes()`). */
fun Message.asBytes(): ByteArray = when (this) {
    is Message.Text -> text.encodeToByteArray()
    is Message.Binary -> data
}
