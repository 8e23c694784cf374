enum ArchitecturesPlaceholder {}
