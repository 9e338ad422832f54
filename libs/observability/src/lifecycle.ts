import { DynamicModule, Global, Module } from '@nestjs/common';

/**
 * Where the process is in its life: serving, or draining after a stop signal. While draining,
 * `/readyz` answers 503 so that load balancers stop sending new requests, while the app keeps
 * serving what still arrives until it closes.
 */
export class Lifecycle {
  private drainingSince: number | undefined;

  get draining(): boolean {
    return this.drainingSince !== undefined;
  }

  beginDrain(): void {
    this.drainingSince ??= Date.now();
  }
}

/** The app's `Lifecycle`, injectable everywhere (a global module). */
@Global()
@Module({})
export class LifecycleModule {
  static forApp(lifecycle: Lifecycle): DynamicModule {
    return {
      module: LifecycleModule,
      providers: [{ provide: Lifecycle, useValue: lifecycle }],
      exports: [Lifecycle],
    };
  }
}
