package directory

// DecodedGroups is how many groups the decode cache holds.
func DecodedGroups() int {
	groupDecodes.mu.Lock()
	defer groupDecodes.mu.Unlock()
	return len(groupDecodes.m)
}

// ForgetDecodedGroups empties the decode cache, as a new process starts.
func ForgetDecodedGroups() {
	groupDecodes.mu.Lock()
	defer groupDecodes.mu.Unlock()
	groupDecodes.m, groupDecodes.bytes = map[string]cachedGroup{}, 0
}
