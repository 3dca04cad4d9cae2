import { createServer, connect, type Server, type Socket } from 'node:net';

/** A TCP relay to Postgres that can be cut: connections made while it is cut are closed at once, and counted. */
export class Relay {
  private readonly sockets = new Set<Socket>();
  private cut = false;
  /** Connections refused while cut. */
  refused = 0;
  private onRefused = () => undefined as void;
  private constructor(private readonly server: Server) {}

  static async open(port: number, target: number): Promise<Relay> {
    const relay: Relay = new Relay(
      createServer((client) => {
        if (relay.cut) {
          relay.refused++;
          relay.onRefused();
          client.destroy();
          return;
        }
        const upstream = connect(target, '127.0.0.1');
        for (const s of [client, upstream]) {
          relay.sockets.add(s);
          s.on('close', () => relay.sockets.delete(s));
          s.on('error', () => undefined);
        }
        client.pipe(upstream).pipe(client);
      }),
    );
    await new Promise<void>((res) => relay.server.listen(port, '127.0.0.1', res));
    return relay;
  }

  /** Postgres gone: every open connection is closed, and new ones too. */
  down(): void {
    this.cut = true;
    for (const s of this.sockets) s.destroy();
  }

  up(): void {
    this.cut = false;
  }

  /** Resolves once `n` more connections have been refused. */
  refusedMore(n: number): Promise<void> {
    const goal = this.refused + n;
    return new Promise((res) => {
      this.onRefused = () => this.refused >= goal && res();
    });
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((res) => this.server.close(() => res()));
  }
}
