// Lets plain `tsc` (which cannot read SFCs) type `.vue` imports; vue-tsc uses the real components.
declare module '*.vue' {
  import type { DefineComponent } from 'vue';
  const component: DefineComponent<object, object, unknown>;
  export default component;
}
