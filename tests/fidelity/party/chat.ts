// The guide's Chat Room pattern; malformed input closes the sender with 1003.
import type * as Party from "partykit/server";

type Message = {
  id: string;
  user: string;
  text: string;
  timestamp: number;
};

export default class ChatServer implements Party.Server {
  messages: Message[] = [];

  constructor(readonly room: Party.Room) {}

  async onStart() {
    this.messages = (await this.room.storage.get<Message[]>("messages")) ?? [];
  }

  onConnect(conn: Party.Connection) {
    conn.send(
      JSON.stringify({
        type: "sync",
        messages: this.messages.slice(-100),
      }),
    );
  }

  async onMessage(message: string | ArrayBuffer, sender: Party.Connection) {
    let data;
    try {
      data = JSON.parse(message as string);
    } catch {
      sender.close(1003, "invalid JSON");
      return;
    }

    if (data?.type === "message") {
      const msg: Message = {
        id: crypto.randomUUID(),
        user: data.user,
        text: data.text,
        timestamp: Date.now(),
      };

      this.messages.push(msg);
      await this.room.storage.put("messages", this.messages);

      this.room.broadcast(
        JSON.stringify({
          type: "message",
          message: msg,
        }),
      );
    }
  }
}
