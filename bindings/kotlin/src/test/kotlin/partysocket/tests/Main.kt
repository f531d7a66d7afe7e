// The Kotlin suite: every scenario against a running party-mock, whose address is the
// first argument. Prints one line per test and a closing "N passed, N failed"; exits
// non-zero when a test failed or none ran.
package partysocket.tests

import java.net.HttpURLConnection
import java.net.URI
import kotlin.system.exitProcess
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertIs
import kotlin.test.assertTrue
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.cancel
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.channels.toList
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import partysocket.PartySocket
import partysocket.PartySocketCallbacks
import partysocket.PartySocketOptionsBuilder
import partysocket.asText
import partysocket.ffi.CloseFrame
import partysocket.ffi.ConnectionState
import partysocket.ffi.AsyncCredentialsProvider
import partysocket.ffi.Credentials
import partysocket.ffi.ProviderException
import partysocket.ffi.CredentialsProvider
import partysocket.ffi.Event
import partysocket.ffi.LogLevel
import partysocket.ffi.LogRecord
import partysocket.ffi.PartySocketLogger
import partysocket.ffi.installLogger
import partysocket.ffi.removeLogger
import partysocket.ffi.Message
import partysocket.ffi.PartySocketException
import partysocket.ffi.Protocol
import partysocket.ffi.ReadyState
import partysocket.ffi.SendOutcome
import partysocket.ffi.SocketFailure
import partysocket.ffi.StopReason

/** The mock's HTTP control surface (`/_mock/...`). */
class Mock(val host: String) {
    fun post(path: String): String = request("POST", path)
    fun get(path: String): String = request("GET", path)

    private fun request(method: String, path: String): String {
        val connection = URI("http://$host$path").toURL().openConnection() as HttpURLConnection
        connection.requestMethod = method
        connection.connectTimeout = 5_000
        connection.readTimeout = 5_000
        try {
            val body = connection.inputStream.bufferedReader().readText()
            check(connection.responseCode == 200) { "$method $path answered ${connection.responseCode}: $body" }
            return body
        } finally {
            connection.disconnect()
        }
    }
}

private var rooms = 0
fun uniqueRoom(name: String) = "kt-$name-${System.nanoTime()}-${rooms++}"

fun Mock.echo(room: String) = PartySocketOptionsBuilder(host).party("echo").room(room)

/**
 * One long-lived collector of a socket's events, as an app has: every event from the
 * start, read with [next] by the test.
 */
class Watch(val socket: PartySocket) {
    private val seen = Channel<Event>(Channel.UNLIMITED)
    private val collector = CoroutineScope(Dispatchers.Default).launch {
        try {
            socket.events.collect { seen.send(it) }
        } finally {
            seen.close()
        }
    }

    suspend fun next(what: String, predicate: (Event) -> Boolean): Event = withTimeout(10.seconds) {
        for (event in seen) if (predicate(event)) return@withTimeout event
        throw AssertionError("the events ended before $what")
    }

    suspend fun nextText(text: String) =
        next("message \"$text\"") { it is Event.Message && it.message.asText() == text }

    /** The events left, once the stream completed. */
    suspend fun rest(): List<Event> = withTimeout(10.seconds) { seen.toList() }

    fun stop() = collector.cancel()
}

fun PartySocket.watch() = Watch(this)

suspend fun Mock.connect() {
    val room = uniqueRoom("connect")
    PartySocket.connect(echo(room).id("kotlin-client").build()).use { socket ->
        val events = socket.watch()
        val open = events.next("open") { it is Event.Open } as Event.Open
        assertTrue(open.url.startsWith("ws://$host/parties/echo/$room?_pk=kotlin-client"), open.url)
        assertEquals(ReadyState.OPEN, socket.readyState)
        assertEquals("kotlin-client", socket.id)
        assertEquals("ws://$host/parties/echo/$room", socket.roomUrl)
        events.stop()
    }
}

suspend fun Mock.invalidOptions() {
    val error = assertFailsWith<PartySocketException.InvalidOptions> {
        PartySocket.connect(echo(uniqueRoom("invalid")).path("/inbox").build())
    }
    assertTrue(error.message!!.contains("must not start with '/'"), error.message)
}

suspend fun Mock.checkedConversions() {
    val builder = echo(uniqueRoom("checked"))
    val cases: List<Pair<String, () -> Unit>> = listOf(
        "maxRetries" to { builder.maxRetries(-1) },
        "eventCapacity" to { builder.eventCapacity(-5) },
        "maxEnqueuedBytes" to { builder.maxEnqueuedBytes(-1L) },
        "minReconnectionDelay" to { builder.minReconnectionDelay((-1).milliseconds) },
        "heartbeat timeout" to { builder.heartbeat(1.seconds, (-1).seconds) },
    )
    for ((option, set) in cases) {
        val error = assertFailsWith<IllegalArgumentException> { set() }
        assertTrue(error.message!!.startsWith(option), "the message names $option: ${error.message}")
    }
    val socket = PartySocket.connect(builder.startClosed().build())
    val code = assertFailsWith<IllegalArgumentException> { socket.close(70000) }
    assertTrue(code.message!!.contains("code"), code.message)
    // A code that fits but that an application may not send is the SDK's error.
    assertFailsWith<PartySocketException.InvalidCloseFrame> { socket.close(1006) }
    socket.close()
}

suspend fun Mock.echoText() {
    PartySocket.connect(echo(uniqueRoom("echo")).build()).use { socket ->
        val events = socket.watch()
        socket.awaitOpen()
        assertEquals(SendOutcome.Sent, socket.send("hello"))
        events.nextText("hello")
        events.stop()
    }
}

/** `send` is an ordinary function: callable from a click handler, outside any coroutine. */
fun sendFromAPlainCallback(socket: PartySocket, text: String): SendOutcome = socket.send(text)

suspend fun Mock.synchronousSend() {
    val socket = PartySocket.connect(echo(uniqueRoom("sync-send")).build())
    val events = socket.watch()
    socket.awaitOpen()
    var outcome: SendOutcome? = null
    val thread = Thread { outcome = sendFromAPlainCallback(socket, "from a thread") }
    thread.start()
    thread.join(5_000)
    assertEquals(SendOutcome.Sent, outcome)
    events.nextText("from a thread")
    events.stop()
    socket.close(1000)
}

suspend fun Mock.binary() {
    val socket = PartySocket.connect(echo(uniqueRoom("binary")).build())
    val events = socket.watch()
    socket.awaitOpen()
    val bytes = byteArrayOf(0, 1, 2, -1, 127)
    assertEquals(SendOutcome.Sent, socket.send(bytes))
    val event = events.next("a binary message") { it is Event.Message && it.message is Message.Binary }
    assertContentEquals(bytes, ((event as Event.Message).message as Message.Binary).data)
    events.stop()
    socket.close(1000)
}

suspend fun Mock.broadcast() {
    val room = uniqueRoom("broadcast")
    val alice = PartySocket.connect(PartySocketOptionsBuilder(host).room(room).build())
    val bob = PartySocket.connect(PartySocketOptionsBuilder(host).room(room).build())
    val bobEvents = bob.watch()
    alice.awaitOpen()
    bob.awaitOpen()
    bobEvents.nextText("Welcome to the party!")
    alice.send("hi from alice")
    bobEvents.nextText("hi from alice")
    bobEvents.stop()
    alice.close(1000)
    bob.close(1000)
}

suspend fun Mock.twoCollectors() {
    val socket = PartySocket.connect(echo(uniqueRoom("two-collectors")).startClosed().build())
    val first = socket.watch()
    val second = socket.watch()
    // Both subscribe before the socket connects: both see the open.
    delay(300)
    socket.reconnect()
    first.next("open") { it is Event.Open }
    second.next("open") { it is Event.Open }
    (1..5).forEach { socket.send("shared-$it") }
    (1..5).forEach {
        first.nextText("shared-$it")
        second.nextText("shared-$it")
    }
    first.stop()
    second.stop()
    socket.close(1000)
}

suspend fun Mock.connectionStateFlow() {
    val socket = PartySocket.connect(echo(uniqueRoom("state")).build())
    val state = socket.connectionState
    withTimeout(10.seconds) { state.first { it == ConnectionState.Open } }
    assertEquals(ConnectionState.Open, state.value)
    socket.close(1000)
    val closed = withTimeout(10.seconds) { state.first { it is ConnectionState.Closed } }
    assertEquals(ConnectionState.Closed(StopReason.ClosedByApp), closed)
}

suspend fun Mock.restartDeliversQueueOnce() {
    val room = uniqueRoom("restart")
    val socket = PartySocket.connect(
        echo(room).minReconnectionDelay(100.milliseconds).maxReconnectionDelay(200.milliseconds).build()
    )
    val events = socket.watch()
    socket.awaitOpen()
    post("/_mock/restart?down_ms=1000")
    val close = events.next("the close of the dropped connection") { it is Event.Close } as Event.Close
    assertEquals(1006.toUShort(), close.frame.code)
    val queued = (1..3).map { socket.send("queued-$it") }
    assertEquals(List(3) { SendOutcome.Queued }, queued)
    events.next("the reconnection") { it is Event.Open }
    (1..3).forEach { events.nextText("queued-$it") }
    val log = get("/_mock/log?party=echo&room=$room")
    (1..3).forEach { index ->
        val seen = Regex("\"data\"\\s*:\\s*\"queued-$index\"").findAll(log).count()
        assertEquals(1, seen, "queued-$index reached the server $seen times: $log")
    }
    events.stop()
    socket.close(1000)
}

suspend fun Mock.unauthorizedStops() {
    post("/_mock/refuse?count=1&status=401")
    val socket = PartySocket.connect(echo(uniqueRoom("unauthorized")).build())
    val events = socket.watch()
    val error = events.next("the handshake error") { it is Event.Error } as Event.Error
    assertEquals(SocketFailure.HandshakeRejected(401.toUShort(), null), error.error)
    assertTrue(error.description.contains("401"), error.description)
    val stopped = events.next("the stop") {
        it is Event.StateChanged && it.state is ConnectionState.Closed
    } as Event.StateChanged
    val reason = (stopped.state as ConnectionState.Closed).reason
    assertIs<StopReason.GaveUp>(reason)
    assertEquals(SocketFailure.HandshakeRejected(401.toUShort(), null), reason.failure)
    assertEquals(ReadyState.CLOSED, socket.readyState)
    assertFailsWith<PartySocketException.Stopped> { socket.awaitOpen() }
    events.stop()
    socket.close(1000)
}

suspend fun Mock.close() {
    val socket = PartySocket.connect(echo(uniqueRoom("close")).build())
    val events = socket.watch()
    socket.awaitOpen()
    assertEquals(StopReason.ClosedByApp, socket.close(4000, "bye"))
    // The stream completes: the socket's task has stopped.
    val rest = events.rest()
    val close = rest.filterIsInstance<Event.Close>().single()
    assertEquals(CloseFrame(4000.toUShort(), "bye"), close.frame)
    assertTrue(close.wasClean)
    assertEquals(ReadyState.CLOSED, socket.readyState)
    // A collector that comes after the end completes at once.
    assertEquals(emptyList<Event>(), withTimeout(5.seconds) { socket.events.toList() })
    assertFailsWith<PartySocketException.Closed> { socket.send("too late") }
    assertFailsWith<PartySocketException.Closed> { socket.reconnect() }
    // AutoCloseable's close on a closed socket does nothing.
    socket.close()
}

suspend fun Mock.useCloses() {
    val room = uniqueRoom("use")
    val socket = PartySocket.connect(echo(room).build())
    val events = socket.watch()
    socket.use {
        it.awaitOpen()
        assertEquals(SendOutcome.Sent, it.send("inside use"))
        events.nextText("inside use")
    }
    // Leaving `use` closed it with 1000.
    val close = events.next("the close") { it is Event.Close } as Event.Close
    assertEquals(1000.toUShort(), close.frame.code)
    assertEquals(StopReason.ClosedByApp, withTimeout(10.seconds) { socket.awaitClosed() })
    assertFailsWith<PartySocketException.Closed> { socket.send("after use") }
}

suspend fun Mock.listener() {
    val seen = Channel<String>(Channel.UNLIMITED)
    val listener = object : PartySocketCallbacks() {
        var threw = false
        override fun onOpen(url: String, protocol: String?) { seen.trySend("open") }
        override fun onMessage(message: Message) {
            val text = message.asText()
            if (text == "boom" && !threw) {
                threw = true
                throw IllegalStateException("listener boom")
            }
            if (text == "hello" || text == "after") seen.trySend("message $text")
        }
        override fun onClose(frame: CloseFrame, wasClean: Boolean) { seen.trySend("close ${frame.code}") }
        override fun onError(error: SocketFailure, description: String) {
            if (error is SocketFailure.ListenerFailed) seen.trySend("failed ${error.callback} ${error.message}")
        }
        override fun onStateChange(state: ConnectionState) {
            if (state is ConnectionState.Closed) seen.trySend("closed")
        }
    }
    suspend fun expect(prefix: String) = withTimeout(10.seconds) {
        while (true) {
            val line = seen.receive()
            if (line.startsWith(prefix)) return@withTimeout line
        }
        @Suppress("UNREACHABLE_CODE") ""
    }
    val socket = PartySocket.connect(echo(uniqueRoom("listener")).build(), listener)
    expect("open")
    socket.send("hello")
    expect("message hello")
    socket.send("boom")
    val failure = expect("failed on_message")
    assertTrue(failure.contains("listener boom"), failure)
    socket.send("after")
    expect("message after")
    // Events go to the listener, not to the flow.
    assertFailsWith<PartySocketException.EventsGoToListener> { socket.events.first() }
    socket.close(1000)
    expect("close 1000")
    expect("closed")
}

suspend fun Mock.cancelCollector() {
    val socket = PartySocket.connect(echo(uniqueRoom("cancel")).build())
    socket.awaitOpen()
    CoroutineScope(Dispatchers.Default).launch { socket.events.collect {} }.let { job ->
        delay(300)
        withTimeout(5.seconds) { job.cancelAndJoin() }
    }
    val events = socket.watch()
    // Give the new collector a moment to subscribe: events without a collector are not kept.
    delay(200)
    assertEquals(SendOutcome.Sent, socket.send("after cancel"))
    events.nextText("after cancel")
    events.stop()
    socket.close(1000)
}

suspend fun Mock.credentials() {
    val room = uniqueRoom("credentials")
    val issued = java.util.concurrent.atomic.AtomicInteger(0)
    val tokens = object : CredentialsProvider {
        override fun credentials(): Credentials {
            val n = issued.incrementAndGet()
            return Credentials(query = mapOf("token" to "token-$n"), headers = mapOf("Authorization" to "Bearer header-$n"))
        }
    }
    val socket = PartySocket.connect(
        echo(room).query("client", "kt").query("token", "static").header("authorization", "Bearer static")
            .minReconnectionDelay(100.milliseconds).maxReconnectionDelay(200.milliseconds).build(),
        credentials = tokens,
    )
    val events = socket.watch()
    val open = events.next("open") { it is Event.Open } as Event.Open
    assertTrue(open.url.contains("token=token-1") && open.url.contains("client=kt"), open.url)
    // The next handshake is refused with 401: the socket asks for a new token and
    // connects again on its own.
    post("/_mock/refuse?count=1&status=401")
    socket.reconnect()
    val refused = events.next("the 401") { it is Event.Error } as Event.Error
    assertEquals(SocketFailure.HandshakeRejected(401.toUShort(), null), refused.error)
    val reopened = events.next("the reconnection") { it is Event.Open } as Event.Open
    assertTrue(reopened.url.contains("token=token-3"), reopened.url)
    // The mock logs an attempt as it answers it: wait for the third.
    var log = ""
    var tokensSeen = emptyList<String>()
    for (poll in 1..50) {
        log = get("/_mock/log?party=echo&room=$room")
        tokensSeen = Regex("token=(token-\\d+)").findAll(log).map { it.groupValues[1] }.toList()
        if (tokensSeen.size >= 3) break
        delay(100)
    }
    assertEquals(listOf("token-1", "token-2", "token-3"), tokensSeen, log)
    // The provider's header replaced the static one on every attempt (the log lists
    // headers as [name, value] pairs).
    val authorizations = Regex("(?i)\\[\"authorization\",\"([^\"]*)\"\\]").findAll(log).map { it.groupValues[1] }.toList()
    assertEquals(listOf("Bearer header-1", "Bearer header-2", "Bearer header-3"), authorizations, log)
    events.stop()
    socket.close(1000)
}

suspend fun Mock.asyncCredentials() {
    val room = uniqueRoom("credentials-async")
    val calls = java.util.concurrent.atomic.AtomicInteger(0)
    val tokens = object : AsyncCredentialsProvider {
        override suspend fun credentials(): Credentials {
            val call = calls.incrementAndGet()
            delay(50)
            if (call == 1) throw ProviderException.Failed("token service down")
            return Credentials(query = emptyMap(), headers = mapOf("Authorization" to "Bearer header-$call"))
        }
    }
    val socket = PartySocket.connect(
        echo(room).minReconnectionDelay(100.milliseconds).maxReconnectionDelay(200.milliseconds).build(),
        credentials = tokens,
    )
    val events = socket.watch()
    val failed = events.next("the failed attempt") { it is Event.Error } as Event.Error
    assertTrue(failed.description.contains("token service down"), failed.description)
    events.next("open") { it is Event.Open }
    socket.reconnect()
    events.next("the reconnection") { it is Event.Open }
    var log = ""
    var authorizations = emptyList<String>()
    for (poll in 1..50) {
        log = get("/_mock/log?party=echo&room=$room")
        authorizations = Regex("(?i)\\[\"authorization\",\"([^\"]*)\"\\]").findAll(log).map { it.groupValues[1] }.toList()
        if (authorizations.size >= 2) break
        delay(100)
    }
    assertEquals(listOf("Bearer header-2", "Bearer header-3"), authorizations, log)
    assertEquals(3, calls.get())
    events.stop()
    socket.close(1000)
}

/** Keeps every record and the thread it arrived on; throws on every call when [failing]. */
class Collecting(private val failing: Boolean = false) : PartySocketLogger {
    val records = java.util.concurrent.ConcurrentLinkedQueue<Pair<LogRecord, String>>()
    override fun log(record: LogRecord) {
        records.add(record to Thread.currentThread().name)
        if (failing) throw IllegalStateException("the logger broke")
    }
    suspend fun waitFor(what: String, wanted: (LogRecord) -> Boolean): LogRecord {
        for (poll in 1..100) {
            records.firstOrNull { wanted(it.first) }?.let { return it.first }
            delay(50)
        }
        throw AssertionError("no record $what: ${records.toList()}")
    }
}

suspend fun Mock.logger() {
    // Info: the open is logged, the attempt (Debug) is not; the token is redacted.
    val info = Collecting()
    installLogger(info, LogLevel.INFO)
    val room = uniqueRoom("logger-info")
    val socket = PartySocket.connect(echo(room).query("token", "s3cret").build())
    socket.awaitOpen()
    val opened = info.waitFor("about the open") { it.message.contains(room) }
    assertEquals(LogLevel.INFO, opened.level)
    assertTrue(opened.target.startsWith("partysocket"), opened.toString())
    assertTrue(opened.message.contains("token=REDACTED"), opened.message)
    val records = info.records.toList()
    assertTrue(records.all { it.first.level >= LogLevel.INFO && !it.first.message.contains("s3cret") }, records.toString())
    // The SDK's own logger thread, not the caller's.
    val caller = Thread.currentThread().name
    assertTrue(records.none { it.second == caller }, records.toString())
    socket.close(1000)
    // Debug, with a logger that throws on every record: the attempt is logged and the
    // socket works as ever.
    val failing = Collecting(failing = true)
    installLogger(failing, LogLevel.DEBUG)
    val debugRoom = uniqueRoom("logger-debug")
    val second = PartySocket.connect(echo(debugRoom).build())
    val events = second.watch()
    events.next("open") { it is Event.Open }
    val connecting = failing.waitFor("about the attempt") {
        it.level == LogLevel.DEBUG && it.message.startsWith("connecting") && it.message.contains(debugRoom)
    }
    assertTrue(connecting.target.startsWith("partysocket"), connecting.toString())
    assertEquals(SendOutcome.Sent, second.send("still"))
    events.nextText("still")
    removeLogger()
    events.stop()
    second.close(1000)
}

suspend fun Mock.tlsRoots() {
    val tlsHost = System.getenv("PARTY_MOCK_TLS_HOST") ?: error("set PARTY_MOCK_TLS_HOST")
    val pem = java.io.File(System.getenv("PARTY_MOCK_CA_PEM") ?: error("set PARTY_MOCK_CA_PEM")).readText()
    fun tlsEcho() = PartySocketOptionsBuilder(tlsHost).party("echo").room(uniqueRoom("tls")).protocol(Protocol.WSS)
    val untrusted = PartySocket.connect(tlsEcho().maxRetries(0).build())
    assertFailsWith<PartySocketException.Stopped> { withTimeout(10.seconds) { untrusted.awaitOpen() } }
    val socket = PartySocket.connect(tlsEcho().rootCertificatePem(pem).build())
    val events = socket.watch()
    withTimeout(10.seconds) { socket.awaitOpen() }
    assertTrue(socket.url!!.startsWith("wss://"), socket.url)
    socket.send("over tls")
    events.nextText("over tls")
    events.stop()
    socket.close(1000)
    val bad = assertFailsWith<PartySocketException.InvalidOptions> {
        PartySocket.connect(echo(uniqueRoom("tls-bad")).rootCertificatePem("/etc/ssl/dev-ca.pem").build())
    }
    assertTrue(bad.message!!.contains("root_certificates_pem[0]"), bad.message)
}

suspend fun Mock.applicationHeartbeat() {
    val room = uniqueRoom("heartbeat")
    val hb = Message.Text("hb")
    val socket = PartySocket.connect(echo(room).heartbeat(100.milliseconds, 400.milliseconds, hb, hb).build())
    val events = socket.watch()
    socket.awaitOpen()
    // A second of quiet: pings answered, no answer delivered, no reconnect.
    val trouble = kotlinx.coroutines.withTimeoutOrNull(1.seconds) {
        events.next("trouble") {
            (it is Event.Message && it.message.asText() == "hb") || it is Event.Close || it is Event.Error
        }
    }
    assertEquals(null, trouble, "the heartbeat misbehaved")
    val log = get("/_mock/log?party=echo&room=$room")
    val pings = Regex("\"data\"\\s*:\\s*\"hb\"").findAll(log).count()
    assertTrue(pings >= 3, "the server received $pings pings in a second")
    events.stop()
    socket.close(1000)
}

suspend fun Mock.pauseAndResume() {
    val room = uniqueRoom("pause")
    val socket = PartySocket.connect(echo(room).build())
    val events = socket.watch()
    socket.awaitOpen()
    val id = socket.id
    socket.pause()
    val close = events.next("the close") { it is Event.Close } as Event.Close
    assertEquals(1000.toUShort(), close.frame.code)
    assertEquals(SendOutcome.Queued, socket.send("while paused"))
    socket.resume()
    val reopened = events.next("the reopen") { it is Event.Open } as Event.Open
    assertTrue(reopened.url.contains("_pk=$id"), reopened.url)
    events.nextText("while paused")
    val log = get("/_mock/log?party=echo&room=$room")
    val copies = Regex("\"data\"\\s*:\\s*\"while paused\"").findAll(log).count()
    assertEquals(1, copies, log)
    events.stop()
    socket.close(1000)
}

val tests: List<Pair<String, suspend Mock.() -> Unit>> = listOf(
    "connect" to { connect() },
    "invalid options" to { invalidOptions() },
    "checked conversions name the option" to { checkedConversions() },
    "echo" to { echoText() },
    "send is synchronous" to { synchronousSend() },
    "binary" to { binary() },
    "broadcast between two sockets" to { broadcast() },
    "two collectors see every event" to { twoCollectors() },
    "connectionState is a StateFlow" to { connectionStateFlow() },
    "server restart delivers the queue once" to { restartDeliversQueueOnce() },
    "401 stops the socket" to { unauthorizedStops() },
    "close ends the task" to { close() },
    "use {} closes the socket" to { useCloses() },
    "listener, a throwing callback contained" to { listener() },
    "cancelling a collector" to { cancelCollector() },
    "a token per attempt, a 401 recovered from" to { credentials() },
    "a suspend credentials provider" to { asyncCredentials() },
    "a logger with a level filter, one that throws" to { logger() },
    "root certificates for a development CA" to { tlsRoots() },
    "application-level heartbeat" to { applicationHeartbeat() },
    "pause keeps the id and the queue, resume delivers it" to { pauseAndResume() },
)

fun main(args: Array<String>) {
    val mock = Mock(args.firstOrNull() ?: error("usage: Main <party-mock host:port>"))
    var passed = 0
    var failed = 0
    for ((name, test) in tests) {
        try {
            mock.post("/_mock/reset")
            runBlocking { withTimeout(60.seconds) { mock.test() } }
            passed++
            println("PASS $name")
        } catch (error: Throwable) {
            failed++
            println("FAIL $name: $error")
            error.printStackTrace(System.out)
        }
    }
    println("$passed passed, $failed failed")
    exitProcess(if (failed == 0 && passed > 0) 0 else 1)
}
