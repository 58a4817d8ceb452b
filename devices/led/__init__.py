"""LED window strips and boards (窗口条屏, 综合屏) on the hall bus, and their simulated twins."""
