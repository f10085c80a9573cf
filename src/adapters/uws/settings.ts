import { coreHandlerDefaults } from '../../server/options.js';
import type { UWSBehavior } from './types.js';

/**
 * uWS's own per-route settings that the adapter passes through (`applyUWSHandler`'s `uws`
 * option). They act below tRPC: uWS applies them in C++, without a frame of ours.
 */
export interface UWSSettings {
  /**
   * uWS's `idleTimeout`: a socket from which nothing (no frame, no pong) arrived for this many
   * seconds is closed by uWS without a close frame (the client sees 1006). `0` turns it off;
   * otherwise at least 8 (uWS aborts the process on 1–7, so the adapter throws instead). uWS's
   * timer has a resolution of about 4 s.
   *
   * Independent of `keepAlive` (tRPC's application-level `PING`/`PONG`, off by default): this one
   * costs no JavaScript and, with {@link sendPingsAutomatically}, no client cooperation beyond the
   * protocol-level pong every WebSocket client sends by itself. With both on, a client's `PONG`
   * (or any other frame) also resets this timer.
   * @default 120 (uWS's own default)
   */
  idleTimeoutSec?: number;
  /**
   * uWS's `sendPingsAutomatically`: shortly before {@link idleTimeoutSec} runs out, uWS sends a
   * protocol-level ping, so a live but quiet client (an idle subscription) answers and stays,
   * and only a dead peer is closed. Turn it off only with `idleTimeoutSec: 0` or a client that
   * sends something more often than `idleTimeoutSec` (its own keep-alive): otherwise quiet
   * clients are cut off.
   * @default true (uWS's own default)
   */
  sendPingsAutomatically?: boolean;
  /**
   * uWS's `compression` (permessage-deflate): one of uWS's `CompressOptions` constants, e.g.
   * `uWS.SHARED_COMPRESSOR`. When set, every frame is sent with uWS's compress flag.
   * @default 0 (uWS.DISABLED)
   */
  compression?: number;
}

/** The defaults of {@link UWSSettings}: uWS's own. */
export const uwsSettingsDefaults = { idleTimeoutSec: 120, sendPingsAutomatically: true, compression: 0 } as const;

/**
 * uWS's `maxBackpressure` for the adapter's routes: 0, which uWS reads as "no limit". With any
 * limit uWS silently drops every frame sent while more than that many bytes wait (a close frame
 * too), so a 4507 could be lost; without one, the core's `maxBufferedBytes` rule is the only
 * bound, as with `ws`: each send is refused once more than `maxBufferedBytes` wait, and the socket
 * is closed with `CloseCode.SlowConsumer` (4507). (`closeOnBackpressureLimit` then never applies.)
 */
export const UWS_MAX_BACKPRESSURE_UNLIMITED = 0;

/** The settings part of the route's behavior: frame cap, backpressure, idle timeout, compression. */
export function routeSettings(
  maxPayloadBytes: number | undefined,
  settings: UWSSettings | undefined,
): Pick<UWSBehavior<unknown>, 'maxPayloadLength' | 'maxBackpressure' | 'idleTimeout' | 'sendPingsAutomatically' | 'compression'> {
  const idleTimeoutSec = settings?.idleTimeoutSec ?? uwsSettingsDefaults.idleTimeoutSec;
  if (!Number.isInteger(idleTimeoutSec) || idleTimeoutSec < 0 || (idleTimeoutSec > 0 && idleTimeoutSec < 8)) {
    throw new RangeError(`trpc-lanyard: uws.idleTimeoutSec must be 0 or an integer of at least 8 (got ${idleTimeoutSec})`);
  }
  return {
    // uWS refuses a larger frame from its header and closes the TCP connection (the client sees
    // 1006, see PROTOCOL.md § 6); the core's own check closes with 4413 below it (before auth).
    maxPayloadLength: maxPayloadBytes ?? coreHandlerDefaults.maxPayloadBytes,
    maxBackpressure: UWS_MAX_BACKPRESSURE_UNLIMITED,
    idleTimeout: idleTimeoutSec,
    sendPingsAutomatically: settings?.sendPingsAutomatically ?? uwsSettingsDefaults.sendPingsAutomatically,
    compression: settings?.compression ?? uwsSettingsDefaults.compression,
  };
}
