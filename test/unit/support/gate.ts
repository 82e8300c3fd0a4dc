/** A promise a test opens when it chooses: a task awaiting `opened` stays in progress until then. */
export interface Gate {
  readonly opened: Promise<void>;
  open(): void;
}

export function gate(): Gate {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

/** Resolves after the promise jobs and timers already due have run. */
export const settle = () => new Promise((resolve) => setImmediate(resolve));
