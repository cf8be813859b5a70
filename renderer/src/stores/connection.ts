// The one place that holds the ConsoleApi. Other stores invoke and subscribe through it, so a
// reconnect (or a test's fake) re-wires every subscription.
import { defineStore } from 'pinia';
import { ref, shallowRef } from 'vue';
import type { ConsoleApi, EventName, Events, Method, Params, Results } from '../../../electron/shared/api';
import type { Connection, ConnectionStatus } from '../api/connection';

interface Registration {
  event: EventName;
  listener: (payload: never) => void;
  off?: () => void;
}

export const useConnectionStore = defineStore('connection', () => {
  const connection = shallowRef<Connection | null>(null);
  const status = ref<ConnectionStatus>('connecting');
  const transport = ref<Connection['transport'] | null>(null);
  /** Bumped each time the link (re)opens: stores reload what they show. */
  const generation = ref(0);
  const registrations = new Set<Registration>();
  let stopStatus: (() => void) | undefined;

  function subscribe(r: Registration) {
    const api = connection.value?.api;
    r.off = api?.on(r.event, r.listener as (payload: Events[EventName]) => void);
  }

  function attach(next: Connection) {
    stopStatus?.();
    for (const r of registrations) r.off?.();
    connection.value = next;
    transport.value = next.transport;
    status.value = next.status;
    for (const r of registrations) subscribe(r);
    if (next.status === 'open') generation.value++;
    stopStatus = next.onStatus((s) => {
      status.value = s;
      if (s === 'open') generation.value++;
    });
  }

  function api(): ConsoleApi {
    if (!connection.value) throw new Error('The console is not connected to a backend yet.');
    return connection.value.api;
  }

  function invoke<M extends Method>(method: M, params: Params<M>): Promise<Results[M]> {
    try {
      return api().invoke(method, params);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  function on<E extends EventName>(event: E, listener: (payload: Events[E]) => void): () => void {
    const r: Registration = { event, listener: listener as (payload: never) => void };
    registrations.add(r);
    subscribe(r);
    return () => {
      r.off?.();
      registrations.delete(r);
    };
  }

  return { status, transport, generation, attach, invoke, on };
});
