import { Context, Schema, Session } from 'koishi'
import { Engine, Monitor, Verdict } from 'fanzha'

export declare const name = 'fanzha'

export interface Config {
  /** A TOML pack directory or file, or a .fzb bundle; empty for the bundled packs. */
  rules: string
  /** The levels that get a reply (default warn and block). */
  actLevels: Array<'notice' | 'warn' | 'block'>
  /** Recall a message that reaches block (the bot needs the permission). */
  recallOnBlock: boolean
  /** User ids mentioned at block. */
  admins: string[]
  /** Mask phone, ID card and bank card numbers in evidence. */
  maskPersonalData: boolean
  /** The JSON file of per-channel switches, relative to the Koishi instance. */
  dataFile: string
  /** Alerts kept per channel for `fanzha.alerts`. */
  alertsKept: number
  authority: { switch: number; alerts: number; reload: number; version: number }
}

export declare const Config: Schema<Config>

/** Emitted for every scored message. */
export interface VerdictEvent {
  session: Session
  event: { kind: 'message'; id?: string; ts: number; channel: string; conversation: string; sender: string; text: string }
  verdict: Verdict
}

declare module 'koishi' {
  interface Events {
    'fanzha/verdict'(payload: VerdictEvent): void
  }
}

export declare class Rules {
  constructor(config: Config)
  engine: Engine
  monitor(sid: string): Monitor
  reload(): string
}

export declare function apply(ctx: Context, config: Config): void
