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
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.channels.Channel
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
import partysocket.ffi.Event
import partysocket.ffi.Message
import partysocket.ffi.PartySocketException
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

suspend fun PartySocket.next(what: String, predicate: (Event) -> Boolean): Event =
    withTimeout(10.seconds) {
        try {
            events.first(predicate)
        } catch (error: NoSuchElementException) {
            throw AssertionError("the events ended before $what")
        }
    }

suspend fun PartySocket.nextText(text: String) =
    next("message \"$text\"") { it is Event.Message && it.message.asText() == text }

suspend fun Mock.connect() {
    val room = uniqueRoom("connect")
    val socket = PartySocket.connect(echo(room).id("kotlin-client").build())
    val open = socket.next("open") { it is Event.Open } as Event.Open
    assertTrue(open.url.startsWith("ws://$host/parties/echo/$room?_pk=kotlin-client"), open.url)
    assertEquals(ReadyState.OPEN, socket.readyState)
    assertEquals(ConnectionState.Open, socket.connectionState)
    assertEquals("kotlin-client", socket.id)
    assertEquals("ws://$host/parties/echo/$room", socket.roomUrl)
    socket.close()
}

suspend fun Mock.invalidOptions() {
    val error = assertFailsWith<PartySocketException.InvalidOptions> {
        PartySocket.connect(echo(uniqueRoom("invalid")).path("/inbox").build())
    }
    assertTrue(error.message!!.contains("must not start with '/'"), error.message)
}

suspend fun Mock.echoText() {
    val socket = PartySocket.connect(echo(uniqueRoom("echo")).build())
    socket.awaitOpen()
    assertEquals(SendOutcome.Sent, socket.send("hello"))
    socket.nextText("hello")
    socket.close()
}

suspend fun Mock.binary() {
    val socket = PartySocket.connect(echo(uniqueRoom("binary")).build())
    socket.awaitOpen()
    val bytes = byteArrayOf(0, 1, 2, -1, 127)
    assertEquals(SendOutcome.Sent, socket.send(bytes))
    val event = socket.next("a binary message") { it is Event.Message && it.message is Message.Binary }
    assertContentEquals(bytes, ((event as Event.Message).message as Message.Binary).data)
    socket.close()
}

suspend fun Mock.broadcast() {
    val room = uniqueRoom("broadcast")
    val alice = PartySocket.connect(PartySocketOptionsBuilder(host).room(room).build())
    val bob = PartySocket.connect(PartySocketOptionsBuilder(host).room(room).build())
    alice.awaitOpen()
    bob.awaitOpen()
    bob.nextText("Welcome to the party!")
    alice.send("hi from alice")
    bob.nextText("hi from alice")
    alice.close()
    bob.close()
}

suspend fun Mock.restartDeliversQueueOnce() {
    val room = uniqueRoom("restart")
    val socket = PartySocket.connect(
        echo(room).minReconnectionDelay(100.milliseconds).maxReconnectionDelay(200.milliseconds).build()
    )
    socket.awaitOpen()
    post("/_mock/restart?down_ms=1000")
    val close = socket.next("the close of the dropped connection") { it is Event.Close } as Event.Close
    assertEquals(1006.toUShort(), close.frame.code)
    val queued = (1..3).map { socket.send("queued-$it") }
    assertEquals(List(3) { SendOutcome.Queued }, queued)
    socket.next("the reconnection") { it is Event.Open }
    (1..3).forEach { socket.nextText("queued-$it") }
    val log = get("/_mock/log?party=echo&room=$room")
    (1..3).forEach { index ->
        val seen = Regex("\"data\"\\s*:\\s*\"queued-$index\"").findAll(log).count()
        assertEquals(1, seen, "queued-$index reached the server $seen times: $log")
    }
    socket.close()
}

suspend fun Mock.unauthorizedStops() {
    post("/_mock/refuse?count=1&status=401")
    val socket = PartySocket.connect(echo(uniqueRoom("unauthorized")).build())
    val error = socket.next("the handshake error") { it is Event.Error } as Event.Error
    assertEquals(SocketFailure.HandshakeRejected(401.toUShort(), null), error.error)
    assertTrue(error.description.contains("401"), error.description)
    val stopped = socket.next("the stop") {
        it is Event.StateChanged && it.state is ConnectionState.Closed
    } as Event.StateChanged
    val reason = (stopped.state as ConnectionState.Closed).reason
    assertIs<StopReason.GaveUp>(reason)
    assertEquals(SocketFailure.HandshakeRejected(401.toUShort(), null), reason.failure)
    assertEquals(ReadyState.CLOSED, socket.readyState)
    assertFailsWith<PartySocketException.Stopped> { socket.awaitOpen() }
    socket.close()
}

suspend fun Mock.close() {
    val socket = PartySocket.connect(echo(uniqueRoom("close")).build())
    socket.awaitOpen()
    assertEquals(StopReason.ClosedByApp, socket.close(4000, "bye"))
    // The remaining events end: the socket's task has stopped.
    val rest = withTimeout(10.seconds) { socket.events.toList() }
    val close = rest.filterIsInstance<Event.Close>().single()
    assertEquals(CloseFrame(4000.toUShort(), "bye"), close.frame)
    assertTrue(close.wasClean)
    assertEquals(ReadyState.CLOSED, socket.readyState)
    assertFailsWith<PartySocketException.Closed> { socket.send("too late") }
    assertFailsWith<PartySocketException.Closed> { socket.reconnect() }
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
    // Events go to the listener, not to next_event.
    assertFailsWith<PartySocketException.EventsGoToListener> { socket.events.first() }
    socket.close()
    expect("close 1000")
    expect("closed")
}

suspend fun Mock.cancelCollector() {
    val socket = PartySocket.connect(echo(uniqueRoom("cancel")).build())
    socket.awaitOpen()
    CoroutineScope(kotlinx.coroutines.Dispatchers.Default).launch { socket.events.collect {} }.let { job ->
        delay(300)
        // The collector waits inside next_event: cancelling it must end it promptly.
        withTimeout(5.seconds) { job.cancelAndJoin() }
    }
    assertEquals(SendOutcome.Sent, socket.send("after cancel"))
    socket.nextText("after cancel")
    socket.close()
}

val tests: List<Pair<String, suspend Mock.() -> Unit>> = listOf(
    "connect" to { connect() },
    "invalid options" to { invalidOptions() },
    "echo" to { echoText() },
    "binary" to { binary() },
    "broadcast between two sockets" to { broadcast() },
    "server restart delivers the queue once" to { restartDeliversQueueOnce() },
    "401 stops the socket" to { unauthorizedStops() },
    "close ends the task" to { close() },
    "listener, a throwing callback contained" to { listener() },
    "cancelling a collector" to { cancelCollector() },
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
