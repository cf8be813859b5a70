import { createPinia } from 'pinia';
import { createApp, watch } from 'vue';
import App from './App.vue';
import { createConnection } from './api/client';
import { useConnectionStore } from './stores/connection';
import { useNavigationStore } from './stores/navigation';

const pinia = createPinia();
const app = createApp(App).use(pinia);

useConnectionStore(pinia).attach(createConnection());

// The place in the console is kept in the URL hash; the session token stays in the query string.
const navigation = useNavigationStore(pinia);
navigation.fromHash(location.hash);
watch(
  () => navigation.toHash(),
  (hash) => {
    if (location.hash !== hash) history.replaceState(null, '', `${location.pathname}${location.search}${hash}`);
  },
  { immediate: true },
);
window.addEventListener('hashchange', () => navigation.fromHash(location.hash));

app.mount('#app');
