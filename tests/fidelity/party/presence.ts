// The guide's Presence / Who's Online pattern; malformed input closes the sender with 1003.
import type * as Party from "partykit/server";

export default class PresenceServer implements Party.Server {
  users: Map<string, { name: string; status: unknown }> = new Map();

  constructor(readonly room: Party.Room) {}

  onConnect(conn: Party.Connection, ctx: Party.ConnectionContext) {
    const url = new URL(ctx.request.url);
    const name = url.searchParams.get("name") || "Anonymous";

    this.users.set(conn.id, { name, status: "online" });
    this.broadcastPresence();
  }

  onMessage(message: string | ArrayBuffer, sender: Party.Connection) {
    let data;
    try {
      data = JSON.parse(message as string);
    } catch {
      sender.close(1003, "invalid JSON");
      return;
    }

    if (data?.type === "status") {
      const user = this.users.get(sender.id);
      if (user) {
        user.status = data.status;
        this.broadcastPresence();
      }
    }
  }

  onClose(conn: Party.Connection) {
    this.users.delete(conn.id);
    this.broadcastPresence();
  }

  broadcastPresence() {
    this.room.broadcast(
      JSON.stringify({
        type: "presence",
        users: Object.fromEntries(this.users),
      }),
    );
  }
}
