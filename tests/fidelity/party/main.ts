// The Quick Start server with the guide's HTTP Requests handler.
import type * as Party from "partykit/server";

export default class Server implements Party.Server {
  constructor(readonly room: Party.Room) {}

  onConnect(conn: Party.Connection) {
    conn.send("Welcome to the party!");
  }

  onMessage(message: string | ArrayBuffer, sender: Party.Connection) {
    this.room.broadcast(message, [sender.id]);
  }

  async onRequest(req: Party.Request) {
    if (req.method === "GET") {
      return Response.json({
        connections: [...this.room.getConnections()].length,
      });
    }

    if (req.method === "POST") {
      let body: unknown;
      try {
        body = await req.json();
      } catch {
        return new Response("Invalid JSON", { status: 400 });
      }
      this.room.broadcast(JSON.stringify(body));
      return new Response("Broadcasted");
    }

    return new Response("Not found", { status: 404 });
  }
}
