export * from './tensor';
export * from './tiles';
export * from './alpha';
export * from './format';
