"""The pass engine: phases and configuration passes, image state, RunSynchronous, resume.

The configuration passes and their names are the answer-file schema's (sysprep.answer.schema).
"""
