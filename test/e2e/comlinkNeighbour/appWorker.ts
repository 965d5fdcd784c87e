// An app's own Comlink worker, unrelated to readsync: it throws ordinary errors.
import * as Comlink from 'comlink';

Comlink.expose({
  typeError(): void {
    throw new TypeError('app worker: bad input');
  },
});
