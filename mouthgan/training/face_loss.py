"""A face network's view as a loss: MTCNN's O-Net, trained on faces, as a perceptual
loss (``--face-features``) and a mouth-landmark loss (``--face-landmarks``) for G.

The L1 pulls every pixel toward the real face alike; a face network weighs what makes
a face a face. No ImageNet network ships with the project, but the ``mtcnn`` wheel the
photo path installs carries its O-Net with weights: four convolution blocks trained to
tell faces and regress five points, among them the mouth's corners. dlib's networks,
which ``benchmarks/realism.py`` judges with, stay out of training: a loss on the judge
would teach G to please it.

O-Net reads a 48x48 colour crop of the box MTCNN puts round a face. On the training
frame that box is the square ``FACE_CROP`` (MTCNN's median box over 60 training faces,
made square as MTCNN does); the gray face is given as three equal channels, in -1..1,
which is O-Net's own scaling ((x - 127.5) / 128) to within 0.4%. O-Net is frozen:
only G learns through it.
"""

import tensorflow as tf

from mouthgan import MouthganError
from mouthgan.training.losses import batch_mean, feature_distance

FACE_CROP = (34, 114, 24, 104)  # rows top..bottom, columns left..right, in the frame
ONET_SIZE = 48
# O-Net's ten landmark outputs are the five x's, then the five y's, as fractions of the
# box: left eye, right eye, nose, mouth left, mouth right.
MOUTH_CORNERS = [3, 4, 8, 9]


def load_onet():
    """MTCNN's O-Net with its weights, frozen."""
    try:
        from mtcnn.network.onet import ONet
        from mtcnn.utils.tensorflow import load_weights
    except ImportError:
        raise MouthganError("--face-features and --face-landmarks take MTCNN's O-Net: "
                            "pip install -e \".[photos]\"") from None
    onet = ONet()
    onet.build()
    onet.set_weights(load_weights("onet.lz4"))
    onet.trainable = False
    return onet


class FaceNetwork:
    """O-Net on the face in the training frame: its blocks' activations and its points."""

    def __init__(self):
        self.onet = load_onet()

    def __call__(self, faces):
        """``faces`` (batch, 128, 128, 1) in -1..1 -> (the four blocks' activations, the
        ten points as fractions of the crop)."""
        top, bottom, left, right = FACE_CROP
        x = tf.cast(faces[:, top:bottom, left:right, :], tf.float32)
        # antialiased bilinear: "area" has no gradient in TensorFlow
        x = tf.image.resize(x, (ONET_SIZE, ONET_SIZE), method="bilinear", antialias=True)
        x = tf.tile(x, [1, 1, 1, 3])  # gray as three equal channels
        net, blocks = self.onet, []
        x = net.prelu1(net.conv1(x))     # (batch, 46, 46, 32)
        blocks.append(x)
        x = net.prelu2(net.conv2(net.maxpool1(x)))  # (batch, 21, 21, 64)
        blocks.append(x)
        x = net.prelu3(net.conv3(net.maxpool2(x)))  # (batch, 8, 8, 64)
        blocks.append(x)
        x = net.prelu4(net.conv4(net.maxpool3(x)))  # (batch, 3, 3, 128)
        blocks.append(x)
        x = net.prelu5(net.fc5(net.flatten(net.permute(x))))  # (batch, 256)
        return blocks, net.fc6_2(x)  # points: (batch, 10)


def face_loss(network, real, fake, features_weight, landmarks_weight):
    """``features_weight`` x the L1 distance of O-Net's blocks on the fake to those on
    the real face (mean over blocks), plus ``landmarks_weight`` x the mean squared
    distance, in frame pixels, of its mouth corners on the fake to those on the real
    face. The real face's side is a fixed target."""
    real_blocks, real_points = network(real)
    fake_blocks, fake_points = network(fake)
    loss = 0.0
    if features_weight:
        loss += features_weight * feature_distance(real_blocks, fake_blocks)
    if landmarks_weight:
        side = FACE_CROP[1] - FACE_CROP[0]
        moved = tf.gather(fake_points - tf.stop_gradient(real_points), MOUTH_CORNERS, axis=1)
        loss += landmarks_weight * batch_mean(tf.reduce_mean(tf.square(side * moved), axis=1))
    return loss
