"""Gateway adapters (WeChat mini-program, WeChat Pay, Alipay) and the offline emulator.

Adapters know nothing of orders or distributors: they take amounts, ids and accounts and
return results, raising the errors in `payments.errors`.
"""
