/** Outcome of a call across the network: the caller decides what is retryable. */
export type Result<T, E = { code: string; message: string }> = { ok: true; data: T } | { ok: false; error: E; status: number; retryable: boolean }
