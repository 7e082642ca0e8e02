"""Vehicle photos: direct uploads to the object store, processing, galleries, feeds.

uploads.py (createPhotoUpload, attachPhoto), images.py (the pure picture rules),
processing.py (the job's use-case), gallery.py (order, delete, the loader's query),
feed_images.py (pictures a feed lists), demo.py (the seed's generated pictures).
"""
