// The test party: says who you are, then echoes every frame back to its sender.
import type * as Party from "partykit/server";

export default class EchoServer implements Party.Server {
  constructor(readonly room: Party.Room) {}

  onConnect(conn: Party.Connection, ctx: Party.ConnectionContext) {
    conn.send(JSON.stringify({ id: conn.id, url: ctx.request.url }));
  }

  onMessage(message: string | ArrayBuffer, sender: Party.Connection) {
    sender.send(message);
  }

  async onRequest(req: Party.Request) {
    return Response.json({
      method: req.method,
      url: req.url,
      body: await req.text(),
    });
  }
}
