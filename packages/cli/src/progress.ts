import type { Writable } from 'node:stream'
import cliProgress from 'cli-progress'
import { isTTY } from './io.js'

/** A progress display; a no-op when disabled or when stderr is not a terminal. */
export interface Progress {
  /** Sets the total, once known. */
  setTotal(total: number): void
  increment(by: number): void
  stop(): void
}

const NONE: Progress = { setTotal() {}, increment() {}, stop() {} }

/**
 * A cli-progress bar on `stream` labelled `label` (e.g. `copy`, `verify`). Shown only on a terminal: in a pipe or a
 * log file it would only add noise, and the command prints a summary line anyway.
 */
export function progressBar(stream: Writable, label: string, enabled: boolean, total = 0, unit = 'entries'): Progress {
  if (!enabled || !isTTY(stream)) return NONE
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: `${label.padEnd(7)} [{bar}] {percentage}% | {value}/{total} ${unit} | {duration_formatted} | ETA {eta_formatted}`,
      hideCursor: true,
      etaBuffer: 100,
      fps: 10,
    },
    cliProgress.Presets.shades_classic,
  )
  bar.start(total, 0)
  let value = 0
  return {
    setTotal(next) {
      bar.setTotal(next)
    },
    increment(by) {
      value += by
      // The total is an estimate taken before the walk (writes may happen meanwhile); never show more than 100%.
      if (value > bar.getTotal()) bar.setTotal(value)
      bar.increment(by)
    },
    stop() {
      bar.stop()
    },
  }
}
