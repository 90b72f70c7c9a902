// ws.ts: the WebSocket client of /api/v1/ws (protocol in src/http/ws.h): authenticates with
// the session token (access_token: browsers cannot set headers on a WebSocket), subscribes to
// topics, hands each event's data to its listener, and reconnects with backoff.

export type SocketState = "connecting" | "live" | "offline";

export class Socket {
  private ws: WebSocket | null = null;
  private closed = false;
  private retryMs = 500;
  private timer: number | undefined;
  private pinger: number | undefined;

  constructor(
    private token: string,
    private topics: Record<string, (data: unknown) => void>,
    private onState: (s: SocketState) => void,
  ) {
    this.open();
  }

  private open(): void {
    const proto = window.location.protocol === "https:" ? "wss:" : "ws:";
    const url = `${proto}//${window.location.host}/api/v1/ws?access_token=${encodeURIComponent(this.token)}`;
    this.onState("connecting");
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.onopen = () => {
      for (const topic of Object.keys(this.topics)) ws.send(JSON.stringify({ type: "subscribe", topic }));
      this.pinger = window.setInterval(() => ws.send(JSON.stringify({ type: "ping" })), 15000);
    };
    ws.onmessage = (ev) => {
      let msg: { type?: string; topic?: string; data?: unknown };
      try {
        msg = JSON.parse(String(ev.data));
      } catch {
        return;
      }
      if (msg.type === "subscribed") {
        this.retryMs = 500;
        this.onState("live");
      } else if (msg.type === "event" && msg.topic && this.topics[msg.topic]) {
        this.topics[msg.topic](msg.data);
      }
    };
    // A failed connection also fires close, which schedules the retry.
    ws.onclose = () => {
      window.clearInterval(this.pinger);
      this.ws = null;
      if (this.closed) return;
      this.onState("offline");
      this.timer = window.setTimeout(() => this.open(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, 15000);
    };
  }

  close(): void {
    this.closed = true;
    window.clearTimeout(this.timer);
    window.clearInterval(this.pinger);
    this.ws?.close(1000);
    this.ws = null;
  }
}
