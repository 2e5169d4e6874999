"""What the recovery endpoints read: an e-mail address with consent, a recovery token."""

from rest_framework import serializers


class CartEmailInput(serializers.Serializer):
    email = serializers.EmailField()
    marketing_consent = serializers.BooleanField(
        required=False, help_text="The shopper agreed to marketing e-mail (reminders of an "
                                  "abandoned cart, where the channel requires it).")


class RecoverInput(serializers.Serializer):
    token = serializers.CharField(max_length=400, help_text="The token of a recovery link "
                                                            "(the last part of /recover/…).")
