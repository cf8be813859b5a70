// Copies a command to the clipboard and says so (or says why it could not).
import { useNoticesStore } from '../stores/notices';

export function useCopyText(): (text: string) => Promise<void> {
  const notices = useNoticesStore();
  return async (text: string) => {
    try {
      await navigator.clipboard.writeText(text);
      notices.success('Copied to the clipboard.');
    } catch (e) {
      notices.error('Cannot copy to the clipboard', e, null);
    }
  };
}
