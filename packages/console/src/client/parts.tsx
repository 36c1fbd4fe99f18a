import { useState } from 'hono/jsx/dom'
import { type ApiFailure, describeFailure } from './api.ts'

export { isGenImageMini } from './uploads.ts'

/** A refusal as the API gave it: status, code, what it means, and the API's own message. */
export function Failure(props: { failure: ApiFailure }) {
  const { title, meaning } = describeFailure(props.failure)
  return (
    <div class="failure" role="alert">
      <p>
        <strong class="code">{title}</strong> — {meaning}
      </p>
      <p class="note">{props.failure.message}</p>
    </div>
  )
}

/** Preformatted text with a button that copies it. */
export function CopyBlock(props: { label: string; text: string }) {
  const [copied, setCopied] = useState(false)
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(props.text)
      setCopied(true)
      setTimeout(() => setCopied(false), 1500)
    } catch {
      setCopied(false)
    }
  }
  return (
    <div class="copy-block">
      <div class="copy-head">
        <span>{props.label}</span>
        <button type="button" class="small" onClick={copy} aria-label={`Copy ${props.label}`}>
          {copied ? 'Copied' : 'Copy'}
        </button>
      </div>
      <pre>
        <code>{props.text}</code>
      </pre>
    </div>
  )
}

/** A horizontal bar for a value in [0, 1] with an optional marker (e.g. the threshold); SVG so no inline style is needed. */
export function Bar(props: { value: number; marker?: number; label: string; tone?: 'ai' | 'real' | 'neutral' }) {
  const width = Math.max(0, Math.min(1, props.value)) * 100
  return (
    <svg class={`bar ${props.tone ?? 'neutral'}`} viewBox="0 0 100 8" preserveAspectRatio="none" role="img" aria-label={props.label}>
      <rect class="track" x="0" y="0" width="100" height="8" />
      <rect class="fill" x="0" y="0" width={width.toFixed(2)} height="8" />
      {props.marker !== undefined && <rect class="marker" x={(Math.max(0, Math.min(1, props.marker)) * 100 - 0.4).toFixed(2)} y="0" width="0.8" height="8" />}
    </svg>
  )
}

/** The sentence shown wherever a model or answer trained on GenImage-mini (a toy set) appears. */
export function MiniWarning() {
  return (
    <p class="warning">
      Trained on <strong>GenImage-mini</strong> (small crops of a few toy generators), not on GenImage: its scores say little about real text-to-image
      generators.
    </p>
  )
}
