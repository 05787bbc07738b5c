"""What the model is shown (the context, repair messages) and how its stream is watched (runaway).

This layer imports the models layer (the message type) and the bottom modules only.
"""
