"""The access audit log (访问审计日志): who did what, from where, with what outcome, and when."""
