// A Quick Start server that answers the browser heartbeat: the text `ping` gets `pong`
// back, to its sender only, and is neither broadcast nor treated as chat. GET reports how
// many pings this room answered, so a test can tell the heartbeat really ran.
import type * as Party from "partykit/server";

export default class HeartbeatServer implements Party.Server {
  pings = 0;

  constructor(readonly room: Party.Room) {}

  onMessage(message: string | ArrayBuffer, sender: Party.Connection) {
    if (message === "ping") {
      this.pings += 1;
      sender.send("pong");
      return;
    }
    this.room.broadcast(message, [sender.id]);
  }

  onRequest() {
    return Response.json({ pings: this.pings });
  }
}
