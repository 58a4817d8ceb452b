"""The satisfaction API (好差评): rating records, KPIs, 差评 work orders, exports, exchange mapping."""
