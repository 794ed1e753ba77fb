// Node-only: whether the writer of a temporary file or folder still runs, so that its leftovers
// may be removed (weights/io.ts for checkpoints, env/node.ts for the session cache).

/** Whether a process with this id exists (EPERM: it does, owned by someone else). */
export function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
