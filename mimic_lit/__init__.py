"""mimic-lit: physics-based motion imitation (DeepMimic, AMP, ASE, ADD) as Lightning modules."""

__version__ = "0.1.0"
