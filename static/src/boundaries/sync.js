// The y-protocols conversation between one Y.Doc and the server, over a Socket.IO socket.
// Used by the page and, unchanged, by the Node convergence test (tests/js/), so nothing here
// touches the DOM.
//
// On every (re)connect: send sync step 1; the ack carries the server's step 2 (what we lack)
// and its step 1, which we answer with our step 2 (what it lacks: edits made offline).
// Local updates are sent while connected; one that fails or times out just triggers the same
// handshake again, which resends whatever the server still lacks. Updates from the server
// arrive as "b:y"; presence (awareness) as "b:aw", stamped by the server with who sent it.
import * as encoding from "lib0/encoding";
import * as decoding from "lib0/decoding";
import * as syncProtocol from "y-protocols/sync";
import * as awarenessProtocol from "y-protocols/awareness";

const MSG_SYNC = 0;
const MSG_AWARENESS = 1;
const ACK_TIMEOUT_MS = 15000;
// Refusals that resending cannot fix: the local copy has something the server will not take.
const FINAL = new Set(["refused", "too_big"]);
// The document is full: kept here and offered again now and then (room may have been made).
const FULL_RETRY_MS = 30000;

function bytes(data) {
  return data instanceof Uint8Array ? data : new Uint8Array(data);
}

export class DocSync {
  constructor(doc, socket, { awareness = null, onProblem = () => {}, onSynced = () => {} } = {}) {
    this.doc = doc;
    this.socket = socket;
    this.awareness = awareness;
    this.onProblem = onProblem;
    this.onSynced = onSynced;
    this.synced = false;
    this.broken = null;
    this.inFlight = 0;
    this.handshaking = false;
    this.again = false;
    this.owners = new Map(); // awareness client id -> user id, as stamped by the server
    this.onUpdate = (update, origin) => { if (origin !== this) this.sendUpdate(update); };
    doc.on("update", this.onUpdate);
    socket.on("connect", () => this.handshake());
    socket.on("disconnect", () => { this.synced = false; this.dropRemotePresence(); });
    socket.on("b:y", (data) => this.receive(bytes(data)));
    socket.on("b:aw", (msg) => this.receivePresence(msg));
    if (awareness) {
      this.onAwareness = ({ added, updated, removed }, origin) => {
        if (origin !== "local") return;
        this.sendPresence([...added, ...updated, ...removed]);
      };
      awareness.on("update", this.onAwareness);
    }
    if (socket.connected) this.handshake();
  }

  emit(message, timeout = ACK_TIMEOUT_MS) {
    return new Promise((resolve) => {
      this.socket.timeout(timeout).emit("b:y", message, (err, ack) => {
        resolve(err ? { error: "No answer from the server.", retry: true } : (ack || { error: "?" }));
      });
    });
  }

  async handshake() {
    if (!this.socket.connected || this.broken) return;
    if (this.handshaking) { this.again = true; return; }
    this.handshaking = true;
    try {
      do {
        this.again = false;
        const enc = encoding.createEncoder();
        encoding.writeVarUint(enc, MSG_SYNC);
        syncProtocol.writeSyncStep1(enc, this.doc);
        const ack = await this.emit(encoding.toUint8Array(enc));
        if (!ack.ok) { this.problem(ack); continue; }
        for (const reply of ack.replies || []) this.receive(bytes(reply));
        if (this.socket.connected && !this.again) {
          this.synced = true;
          this.onSynced();
          if (this.awareness && this.awareness.getLocalState() !== null) {
            this.sendPresence([this.doc.clientID]);
          }
        }
      } while (this.again && this.socket.connected && !this.broken);
    } finally {
      this.handshaking = false;
    }
  }

  // A sync message from the server: step 2 / update are applied (origin = this, so they are
  // not sent back); step 1 is answered with our step 2.
  receive(message) {
    try {
      const decoder = decoding.createDecoder(message);
      const type = decoding.readVarUint(decoder);
      if (type !== MSG_SYNC) return;
      const reply = encoding.createEncoder();
      encoding.writeVarUint(reply, MSG_SYNC);
      syncProtocol.readSyncMessage(decoder, reply, this.doc, this);
      if (encoding.length(reply) > 1) this.sendTracked(encoding.toUint8Array(reply));
    } catch (error) {
      // A message we cannot read: ask for the whole state again rather than guess.
      this.handshake();
    }
  }

  sendUpdate(update) {
    if (!this.socket.connected || this.broken) return; // the next handshake carries it
    if (!this.synced) {
      // Sent now, it could reach the server before the offline edits it builds on (and be
      // refused as "missing"); the handshake under way goes round once more to carry it.
      if (this.handshaking) this.again = true;
      return;
    }
    const enc = encoding.createEncoder();
    encoding.writeVarUint(enc, MSG_SYNC);
    syncProtocol.writeUpdate(enc, update);
    this.sendTracked(encoding.toUint8Array(enc));
  }

  async sendTracked(message) {
    this.inFlight += 1;
    try {
      const ack = await this.emit(message);
      if (!ack.ok) this.problem(ack);
    } finally {
      this.inFlight -= 1;
    }
  }

  problem(ack) {
    if (FINAL.has(ack.code)) {
      this.broken = ack.code;
      this.onProblem(ack);
      return;
    }
    this.onProblem(ack);
    // Lost or failed: the handshake resends whatever the server still lacks.
    const wait = ack.code === "doc_full" ? FULL_RETRY_MS : 1000;
    if (this.socket.connected) setTimeout(() => this.handshake(), wait);
  }

  sendPresence(clients) {
    if (!this.awareness || !this.socket.connected) return;
    const enc = encoding.createEncoder();
    encoding.writeVarUint(enc, MSG_AWARENESS);
    encoding.writeVarUint8Array(enc, awarenessProtocol.encodeAwarenessUpdate(this.awareness, clients));
    this.socket.emit("b:y", encoding.toUint8Array(enc));
  }

  receivePresence(msg) {
    if (!this.awareness || !msg || !msg.data) return;
    const data = bytes(msg.data);
    try {
      const decoder = decoding.createDecoder(data);
      const count = decoding.readVarUint(decoder);
      let fresh = false;
      const clients = [];
      for (let i = 0; i < count; i += 1) {
        const client = decoding.readVarUint(decoder);
        decoding.readVarUint(decoder);
        decoding.readVarString(decoder);
        // A tab's id belongs to whoever showed it first: never shown as someone else's later,
        // nor our own id taken over.
        const owner = this.owners.get(client);
        if (client === this.doc.clientID || (owner !== undefined && owner !== msg.user)) return;
        clients.push(client);
      }
      for (const client of clients) {
        if (!this.owners.has(client)) fresh = true;
        this.owners.set(client, msg.user);
      }
      awarenessProtocol.applyAwarenessUpdate(this.awareness, data, this);
      // Someone new: tell them where we are now rather than in up to 15 s.
      if (fresh && this.awareness.getLocalState() !== null) this.sendPresence([this.doc.clientID]);
    } catch (error) {
      // Presence is a nicety: a message we cannot read is ignored.
    }
  }

  dropRemotePresence() {
    if (!this.awareness) return;
    const others = [...this.awareness.getStates().keys()].filter((c) => c !== this.doc.clientID);
    if (others.length) awarenessProtocol.removeAwarenessStates(this.awareness, others, this);
  }

  idle() { return this.synced && this.inFlight === 0 && !this.handshaking; }

  destroy() {
    this.doc.off("update", this.onUpdate);
    if (this.awareness) this.awareness.off("update", this.onAwareness);
  }
}
