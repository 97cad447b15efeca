// The Actions cache client as its own bundle (dist/cache/): with the Azure SDK it is larger than
// the rest of the action together, and only runs that upload with a cache service load it.
export { isFeatureAvailable, restoreCache, saveCache } from '@actions/cache'
