// Every error reaches the user as one readable sentence: never a stack, never a transport prefix.
export function readableError(error: unknown): string {
  let message: string | undefined;
  if (typeof error === 'string') message = error;
  else if (error && typeof error === 'object' && 'message' in error && typeof error.message === 'string') message = error.message;
  if (!message) return 'Something went wrong.';
  // Electron wraps errors from ipcMain.handle: "Error invoking remote method 'x': ApiError: real message".
  message = message.replace(/^Error invoking remote method '[^']*':\s*/, '').replace(/^(\w*Error):\s*/, '');
  const firstLine = message.split('\n').find((line) => line.trim() && !/^\s*at\s/.test(line));
  return firstLine?.trim() || 'Something went wrong.';
}
