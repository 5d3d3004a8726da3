export * from './tensor';
export * from './tiles';
