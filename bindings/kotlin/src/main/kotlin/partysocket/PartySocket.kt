// The idiomatic Kotlin face of the generated bindings (package partysocket.ffi): a
// builder for options with checked conversions, events as a hot SharedFlow, the
// connection state as a StateFlow, synchronous send, and AutoCloseable.
package partysocket

import java.util.concurrent.atomic.AtomicBoolean
import kotlin.time.Duration
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.channels.BufferOverflow
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.MutableSharedFlow
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.flow
import kotlinx.coroutines.flow.onSubscription
import kotlinx.coroutines.flow.takeWhile
import kotlinx.coroutines.launch
import partysocket.ffi.ConnectionState
import partysocket.ffi.AsyncCredentialsProvider
import partysocket.ffi.CredentialsProvider
import partysocket.ffi.DropPolicy
import partysocket.ffi.Event
import partysocket.ffi.FailurePolicy
import partysocket.ffi.Heartbeat
import partysocket.ffi.Message
import partysocket.ffi.OptionsUpdate
import partysocket.ffi.PartySocketException
import partysocket.ffi.PartySocketListener
import partysocket.ffi.PartySocketOptions
import partysocket.ffi.Protocol
import partysocket.ffi.ReadyState
import partysocket.ffi.SendOutcome
import partysocket.ffi.StopReason
import partysocket.ffi.PartySocket as FfiSocket

/** Milliseconds of a duration that must not be negative. */
internal fun Duration.checkedMillis(option: String): ULong {
    require(!isNegative()) { "$option must not be negative (got $this)" }
    return inWholeMilliseconds.toULong()
}

/** An `Int` option that must fit a `u32`: not negative. */
internal fun Int.checkedU32(option: String): UInt {
    require(this >= 0) { "$option must not be negative (got $this)" }
    return toUInt()
}

/** A `Long` option that must fit a `u64`: not negative. */
internal fun Long.checkedU64(option: String): ULong {
    require(this >= 0) { "$option must not be negative (got $this)" }
    return toULong()
}

/** A close code, which must fit a `u16`; the SDK then checks it is one an app may send. */
internal fun Int.checkedCloseCode(): UShort {
    require(this in 0..UShort.MAX_VALUE.toInt()) { "code must be a close code from 0 to 65535 (got $this)" }
    return toUShort()
}

/**
 * Builds [PartySocketOptions] with the core's defaults; only the host is required (and a
 * room, unless a base path is set or the socket starts closed).
 *
 * A negative count, size or duration throws [IllegalArgumentException] naming the
 * option; the other rules (such as a path without a leading '/') are checked when the
 * socket is created (`PartySocketException.InvalidOptions`, naming the option too).
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
    fun minReconnectionDelay(delay: Duration) =
        apply { options.minReconnectionDelayMs = delay.checkedMillis("minReconnectionDelay") }
    fun maxReconnectionDelay(delay: Duration) =
        apply { options.maxReconnectionDelayMs = delay.checkedMillis("maxReconnectionDelay") }
    fun reconnectionDelayGrowFactor(factor: Double) = apply { options.reconnectionDelayGrowFactor = factor }
    fun jitter(fraction: Double) = apply { options.jitter = fraction }
    fun minUptime(uptime: Duration) = apply { options.minUptimeMs = uptime.checkedMillis("minUptime") }
    fun connectionTimeout(timeout: Duration) =
        apply { options.connectionTimeoutMs = timeout.checkedMillis("connectionTimeout") }
    fun closeTimeout(timeout: Duration) = apply { options.closeTimeoutMs = timeout.checkedMillis("closeTimeout") }
    fun writeTimeout(timeout: Duration) = apply { options.writeTimeoutMs = timeout.checkedMillis("writeTimeout") }
    fun maxRetries(retries: Int) = apply { options.maxRetries = retries.checkedU32("maxRetries") }
    fun maxEnqueuedMessages(max: Long) =
        apply { options.maxEnqueuedMessages = max.checkedU64("maxEnqueuedMessages") }
    fun maxEnqueuedBytes(max: Long) = apply { options.maxEnqueuedBytes = max.checkedU64("maxEnqueuedBytes") }
    fun dropPolicy(policy: DropPolicy) = apply { options.dropPolicy = policy }
    /**
     * Pings after [interval] of quiet; no traffic within [timeout] after one reconnects.
     * Protocol ping frames, or with [ping] application-level pings the server answers
     * ([pong], when given, is the answer: it counts and is not delivered).
     */
    fun heartbeat(interval: Duration, timeout: Duration, ping: Message? = null, pong: Message? = null) = apply {
        options.heartbeat = Heartbeat(
            interval.checkedMillis("heartbeat interval"),
            timeout.checkedMillis("heartbeat timeout"),
            ping,
            pong,
        )
    }
    /** Trusts the certificates of a PEM text too (a development server's CA). */
    fun rootCertificatePem(pem: String) = apply { options.rootCertificatesPem = options.rootCertificatesPem + pem }
    /** Also trusts the operating system's root store where one can be read (not on Android). */
    fun platformRoots(on: Boolean = true) = apply { options.platformRoots = on }
    fun eventCapacity(events: Int) = apply { options.eventCapacity = events.checkedU32("eventCapacity") }
    fun maxMessageSize(bytes: Long) = apply { options.maxMessageSize = bytes.checkedU64("maxMessageSize") }
    fun failurePolicy(policy: FailurePolicy) = apply { options.failurePolicy = policy }

    /** A copy of the options. */
    fun build(): PartySocketOptions = options.copy()
}

/** What the pump hands to [PartySocket.events]'s collectors: an event, or the end. */
private sealed interface Delivery {
    class Item(val event: Event) : Delivery
    object End : Delivery
}

/**
 * A reconnecting PartyKit socket.
 *
 * Events arrive through [events], a hot stream that several collectors may use at
 * once (each sees every event emitted while it is subscribed), or, when created with a
 * [PartySocketListener], through its callbacks on one of the SDK's threads.
 *
 * Reading starts with the first collector of [events] (or the first read of
 * [connectionState]), so nothing is missed between `connect` and `collect`; until then
 * events wait in the SDK (up to `eventCapacity`, then the socket stops reading from the
 * server). Afterwards events that arrive while no collector is subscribed are not
 * kept; [connectionState] always follows them. [events] buffers [EVENT_BUFFER] events
 * for slow collectors; when they fall further behind, reading waits for them (the SDK's
 * buffer then fills and the socket stops reading), so nothing is dropped.
 *
 * Collectors run on the collecting coroutine's dispatcher: collect on
 * `Dispatchers.Main` (for example in `lifecycleScope`) to touch the UI.
 *
 * ```kotlin
 * PartySocket.connect(PartySocketOptionsBuilder(host).party("echo").room("lobby").build()).use { socket ->
 *     socket.send("hello")
 *     socket.events.collect { event -> if (event is Event.Message) println(event.message) }
 * }
 * ```
 */
class PartySocket private constructor(
    private val ffi: FfiSocket,
    private val hasListener: Boolean,
) : AutoCloseable {
    companion object {
        /** How many events [events] buffers for collectors that are behind. */
        const val EVENT_BUFFER: Int = 64

        /**
         * Creates the socket and, unless it starts closed, connects. [credentials], when
         * given, is asked for the query parameters and headers before every attempt (on one of the
         * SDK's threads): the hook for tokens that expire; a 401 or 403 then asks it again
         * instead of stopping (unless a failure policy says otherwise).
         *
         * @throws partysocket.ffi.PartySocketException.InvalidOptions naming the option to change.
         */
        fun connect(
            options: PartySocketOptions,
            listener: PartySocketListener? = null,
            credentials: CredentialsProvider? = null,
        ): PartySocket = PartySocket(FfiSocket(options, listener, credentials), listener != null)

        /**
         * Creates the socket with a `suspend` [credentials] provider, called before every
         * attempt in a coroutine (`GlobalScope`, `Dispatchers.Default`) and cancelled when
         * its attempt is replaced, closed or times out (`connectionTimeoutMs`).
         *
         * @throws partysocket.ffi.PartySocketException.InvalidOptions naming the option to change.
         */
        fun connect(
            options: PartySocketOptions,
            credentials: AsyncCredentialsProvider,
            listener: PartySocketListener? = null,
        ): PartySocket = PartySocket(FfiSocket.withAsyncCredentials(options, credentials, listener), listener != null)
    }

    private val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)
    private val started = AtomicBoolean(false)
    private val ended = AtomicBoolean(false)
    private val shared = MutableSharedFlow<Delivery>(
        replay = 0,
        extraBufferCapacity = EVENT_BUFFER,
        onBufferOverflow = BufferOverflow.SUSPEND,
    )
    private val state = MutableStateFlow(ffi.connectionState())

    /** Starts reading the SDK's events, once. */
    private fun start() {
        if (hasListener || !started.compareAndSet(false, true)) return
        scope.launch {
            try {
                while (true) {
                    val event = ffi.nextEvent() ?: break
                    if (event is Event.StateChanged) state.value = event.state
                    shared.emit(Delivery.Item(event))
                }
            } finally {
                state.value = ffi.connectionState()
                ended.set(true)
                shared.emit(Delivery.End)
                scope.cancel()
            }
        }
    }

    /**
     * Every event in order, for each collector from when it subscribed; completes once
     * the socket was closed and its last event delivered.
     *
     * @throws partysocket.ffi.PartySocketException.EventsGoToListener (when collected)
     *   on a socket created with a listener.
     */
    val events: Flow<Event> = flow {
        if (hasListener) {
            // Throws the SDK's EventsGoToListener, with its message.
            ffi.nextEvent()
            return@flow
        }
        shared
            .onSubscription {
                start()
                if (ended.get()) emit(Delivery.End)
            }
            .takeWhile { it is Delivery.Item }
            .collect { emit((it as Delivery.Item).event) }
    }

    /**
     * The connection state, following the events. On a socket created with a listener
     * it is the state when it was created: the listener's `onStateChange` has the rest.
     */
    val connectionState: StateFlow<ConnectionState>
        get() {
            start()
            return state.asStateFlow()
        }

    /** Sends text now when open, else queues it; the outcome says which. */
    fun send(text: String): SendOutcome = ffi.sendText(text)

    /** Sends bytes now when open, else queues them. */
    fun send(data: ByteArray): SendOutcome = ffi.sendBinary(data)

    /** Sends a message; while disconnected only the latest queued per [key] survives. */
    fun sendCoalesced(key: String, message: Message): SendOutcome = ffi.sendCoalesced(key, message)

    /**
     * Closes gracefully with [code] (1000 or 3000 to 4999) and [reason] and waits until
     * the close completed; the socket's task then ends and [events] completes. A closed
     * socket cannot reconnect. Messages still queued are discarded (see [drainQueue]).
     *
     * @throws IllegalArgumentException when [code] does not fit a close code.
     * @throws partysocket.ffi.PartySocketException.InvalidCloseFrame for a code or reason
     *   an application may not send.
     */
    suspend fun close(code: Int, reason: String = ""): StopReason {
        ffi.closeWith(code.checkedCloseCode(), reason)
        return ffi.closed()
    }

    /**
     * [AutoCloseable]: closes gracefully with code 1000 without waiting; does nothing when
     * already closed. The SDK releases the connection once the close completed.
     */
    override fun close() {
        try {
            ffi.closeWith(1000.toUShort(), "")
        } catch (_: PartySocketException.Closed) {
        }
    }

    /** Waits until the connection is open; throws `PartySocketException.Stopped` if it stops instead. */
    suspend fun awaitOpen() = ffi.opened()

    /** Waits until the socket is closed (by [close], or when it gave up) and says why. */
    suspend fun awaitClosed(): StopReason = ffi.closed()

    /**
     * Connects now: replaces the connection, cuts a backoff wait short, resets the retry
     * count and restarts a socket that stopped. Call it when the network changes (from
     * Android's `ConnectivityManager.NetworkCallback.onAvailable`).
     */
    fun reconnect() = ffi.reconnect()

    /**
     * Closes the connection for a while (code 1000) and keeps the socket: its id, its
     * queue ([send] queues meanwhile) and [events] stay, and it does not reconnect until
     * [resume]. Call it from `onStop` when the app goes to the background.
     */
    fun pause() = ffi.pause()

    /** Connects again after [pause] with the same id; what was queued goes out first, once. */
    fun resume() = ffi.resume()

    /** Changes destination or credentials for the next connection. */
    fun update(update: OptionsUpdate) = ffi.update(update)

    /** Removes and returns the queued messages, oldest first. */
    fun drainQueue(): List<Message> = ffi.drainQueue()

    val id: String get() = ffi.id()
    val roomUrl: String get() = ffi.roomUrl()
    /** The latest attempt's URL, query values included: log `redactUrl(url)`. */
    val url: String? get() = ffi.url()
    val protocol: String? get() = ffi.protocol()
    val readyState: ReadyState get() = ffi.readyState()
    val retryCount: Long get() = ffi.retryCount().toLong()
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
