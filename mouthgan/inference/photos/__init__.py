"""Faces in ordinary photos: find each face, frame it as the training faces are framed,
restore the mouth there, and put the restored mouth back into the photo.

- ``images``: reading a photo (any size, colour or gray, EXIF-upright)
- ``detect``: the face detector (MTCNN) and each face's checks
- ``framing``: the training framing (``face_template.json``) and the warps onto it
- ``paint``: the painted-out regions, the box framing, unmixing the paint
- ``pipeline``: ``restore_photo`` and ``frame_faces``, the path from file to restoration
- ``pictures``: before / after and the framed face's steps

May import: config, util, data, models and the rest of inference.
"""
