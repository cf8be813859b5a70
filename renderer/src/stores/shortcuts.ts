// Carries out keyboard shortcuts by calling the store that owns each action.
import { defineStore } from 'pinia';
import { ref } from 'vue';
import { shortcutFor, type KeyLike, type ShortcutAction } from '../logic/shortcuts';
import { useClusterStateStore } from './clusterState';
import { useNavigationStore } from './navigation';
import { useSimulationStore } from './simulation';
import { useThemeStore } from './theme';

export const useShortcutsStore = defineStore('shortcuts', () => {
  const navigation = useNavigationStore();
  const theme = useThemeStore();
  const simulation = useSimulationStore();
  const clusterState = useClusterStateStore();
  const helpOpen = ref(false);

  function perform(action: ShortcutAction) {
    switch (action.kind) {
      case 'go':
        return navigation.go(action.view);
      case 'toggleTheme':
        return theme.toggle();
      case 'toggleClock':
        return void simulation.toggle();
      case 'stepClock':
        return void simulation.step();
      case 'refresh':
        return void clusterState.reload();
      case 'help':
        helpOpen.value = !helpOpen.value;
    }
  }

  /** True when the key was a shortcut (the caller then prevents the default). */
  function handleKey(event: KeyLike): boolean {
    const action = shortcutFor(event);
    if (!action) return false;
    perform(action);
    return true;
  }

  return { helpOpen, perform, handleKey };
});
