// The guide's Multiplayer Game State pattern; malformed input closes the sender with 1003.
import type * as Party from "partykit/server";

type Player = {
  id: string;
  x: number;
  y: number;
  name: string;
};

export default class GameServer implements Party.Server {
  players: Map<string, Player> = new Map();

  constructor(readonly room: Party.Room) {}

  onConnect(conn: Party.Connection, ctx: Party.ConnectionContext) {
    const name = new URL(ctx.request.url).searchParams.get("name") || "Player";

    this.players.set(conn.id, {
      id: conn.id,
      x: Math.random() * 800,
      y: Math.random() * 600,
      name,
    });

    conn.send(
      JSON.stringify({
        type: "init",
        players: Object.fromEntries(this.players),
      }),
    );

    this.room.broadcast(
      JSON.stringify({
        type: "player-join",
        player: this.players.get(conn.id),
      }),
      [conn.id],
    );
  }

  onMessage(message: string | ArrayBuffer, sender: Party.Connection) {
    let data;
    try {
      data = JSON.parse(message as string);
    } catch {
      sender.close(1003, "invalid JSON");
      return;
    }

    if (data?.type === "move") {
      const player = this.players.get(sender.id);
      if (player) {
        player.x = data.x;
        player.y = data.y;

        this.room.broadcast(
          JSON.stringify({
            type: "player-move",
            id: sender.id,
            x: data.x,
            y: data.y,
          }),
          [sender.id],
        );
      }
    }
  }

  onClose(conn: Party.Connection) {
    this.players.delete(conn.id);

    this.room.broadcast(
      JSON.stringify({
        type: "player-leave",
        id: conn.id,
      }),
    );
  }
}
